// Connect four: a 7×6 board of buttons; click (or tap) a column to drop a disc. Turn timer shown.

import { h, clear, SEAT_COLOURS } from "./dom.js";

const COLUMNS = 7;
const ROWS = 6;

export class ConnectFourView {
  constructor(root, conn) {
    this.conn = conn;
    this.root = root;
    this.status = h("div.turn", { id: "turn-status" });
    this.timer = h("div.timer", {}, h("div.timer-bar"));
    this.board = h("div.c4-board", { id: "c4-board", role: "grid", "aria-label": "Connect four board" });
    this.columns = [];
    for (let col = 0; col < COLUMNS; col++) {
      const column = h("button.c4-col", {
        type: "button",
        dataset: { col },
        "aria-label": `Drop a disc in column ${col + 1}`,
        onclick: () => this.drop(col),
      });
      for (let row = ROWS - 1; row >= 0; row--) column.append(h("span.c4-cell", { dataset: { row } }));
      this.columns.push(column);
      this.board.append(column);
    }
    clear(root).append(h("div.c4", {}, this.status, this.timer, this.board));
  }

  drop(col) {
    const view = this.conn.view;
    const seat = this.conn.match?.seat;
    if (!view || seat === null || seat === undefined) return;
    const game = view.doc.game;
    if (game.turn !== seat || game.winner !== null || this.conn.awaitingAck()) return;
    if (game.board[col].length >= ROWS) return;
    this.conn.input({ col });
  }

  render(view) {
    const game = view.doc.game;
    const seat = this.conn.match?.seat;
    const over = game.winner !== null || game.draw || game.forfeit !== null;
    const line = new Set((game.line || []).map(([c, r]) => `${c}:${r}`));
    this.columns.forEach((column, col) => {
      const discs = game.board[col];
      for (const cell of column.querySelectorAll(".c4-cell")) {
        const row = Number(cell.dataset.row);
        const owner = discs[row];
        cell.style.background = owner === undefined ? "" : SEAT_COLOURS[owner];
        cell.classList.toggle("filled", owner !== undefined);
        cell.classList.toggle("win", line.has(`${col}:${row}`));
      }
      const playable = !over && seat !== null && game.turn === seat && discs.length < ROWS;
      column.disabled = !playable;
      column.classList.toggle("playable", playable);
    });
    const mover = game.names[game.turn] || `seat ${game.turn + 1}`;
    let text;
    if (game.winner !== null) text = game.winner === seat ? "You win!" : `${game.names[game.winner]} wins`;
    else if (game.draw) text = "A draw";
    else if (game.forfeit !== null) text = `${game.names[game.forfeit]} forfeits`;
    else if (seat === game.turn) text = "Your turn: pick a column";
    else text = `${mover}'s turn`;
    this.status.textContent = text;
    this.status.style.borderColor = SEAT_COLOURS[game.turn];
    const left = Math.max(0, Number(game.turn_left || 0));
    this.total = Math.max(this.total || 0, left); // the clock restarts at the full turn length
    const total = this.total || 30;
    const bar = this.timer.firstChild;
    bar.style.width = over ? "0%" : `${Math.min(100, (100 * left) / total)}%`;
    bar.style.background = left < 5 ? "#e5484d" : SEAT_COLOURS[game.turn];
    this.timer.dataset.left = over ? "" : `${left.toFixed(1)} s`;
    this.timer.style.visibility = over ? "hidden" : "";
    this.timer.setAttribute("aria-label", `${left.toFixed(0)} seconds left`);
  }

  destroy() {}
}
