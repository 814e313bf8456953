// Any game without a view of its own (e.g. one just made with `manage.py startgame`): shows the
// game part of the document as JSON and sends inputs typed as JSON objects. Good enough to play a
// new game in the browser before it has a real view.

import { h, clear } from "./dom.js";

export class GenericView {
  constructor(root, conn) {
    this.conn = conn;
    this.state = h("pre.generic-state", { id: "generic-state" });
    this.input = h("input", { id: "generic-input", type: "text", placeholder: '{"col": 3}', autocomplete: "off" });
    this.problem = h("span.muted", { id: "generic-problem" });
    const form = h("form.generic-form", { id: "generic-form", onsubmit: (event) => { event.preventDefault(); this.send(); } },
      this.input, h("button", { type: "submit", id: "generic-send" }, "Send input"), this.problem);
    const playing = conn.match && conn.match.seat !== null;
    clear(root).append(h("div.generic", {}, this.state, playing ? form : null));
  }

  send() {
    let data;
    try {
      data = JSON.parse(this.input.value || "{}");
    } catch {
      this.problem.textContent = "not JSON";
      return;
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      this.problem.textContent = "an input is a JSON object";
      return;
    }
    this.problem.textContent = "";
    this.conn.input(data);
  }

  render(view) {
    this.state.textContent = JSON.stringify(view.doc.game, null, 2);
  }

  destroy() {}
}
