// Watching: the live match list (public matches in progress, kept live by match.list.update) and
// the replay controls (0.5×/1×/2×/4×, pause/resume, progress) shown above a replayed match.

import { h, clear, gameTitle, SEAT_COLOURS } from "./dom.js";

export const SPEEDS = [0.5, 1, 2, 4];

/** "m:ss" (or "h:mm:ss") for a number of seconds. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** The live list as the server tells it: rows by match id, each with the local time it arrived. */
export class LiveMatches {
  constructor() {
    this.rows = new Map();
  }

  reset(matches) {
    const now = performance.now();
    this.rows = new Map(matches.map((m) => [m.match_id, { ...m, seenAt: now }]));
  }

  update(msg) {
    if (msg.op === "remove" || !msg.match) this.rows.delete(msg.match_id);
    else this.rows.set(msg.match_id, { ...msg.match, seenAt: performance.now() });
  }

  /** Seconds the match has been running, now. */
  static elapsed(row) {
    return row.elapsed_seconds + (performance.now() - row.seenAt) / 1000;
  }

  sorted(game) {
    return [...this.rows.values()].filter((m) => !game || m.game === game).sort((a, b) => b.started_at - a.started_at);
  }
}

function rating(value) {
  return value === null || value === undefined ? "unrated" : String(Math.round(value));
}

/** Fill `list` with one row per live match; `onWatch(row)` when its Watch button is clicked. */
export function renderLiveRows(list, rows, onWatch, mine) {
  clear(list);
  if (!rows.length) {
    list.append(h("li.empty", {}, "No public matches are being played right now."));
    return;
  }
  for (const row of rows) {
    const players = [...row.players].sort((a, b) => a.seat - b.seat);
    const playing = mine !== null && mine !== undefined && players.some((p) => p.user.id === mine);
    list.append(h("li.live-row", { dataset: { matchId: row.match_id, game: row.game } },
      h("div.live-main", {},
        h("div", {}, h("strong", {}, gameTitle(row.game)), h("span.badge", { dataset: { mode: row.mode } }, row.mode === "quickplay" ? "quick play" : "lobby"),
          row.spectator_delay ? h("span.muted.small", { title: "Spectators see the match this much later" }, ` ${row.spectator_delay} s delay`) : null),
        h("div.live-players", {}, players.map((p, i) => [
          i ? h("span.vs", {}, "vs") : null,
          h("span.live-player", {}, h("span.swatch", { style: { background: SEAT_COLOURS[p.seat % SEAT_COLOURS.length] } }), p.user.name,
            h("span.rating", { title: `${gameTitle(row.game)} rating` }, rating(p.rating)))]))),
      h("span.elapsed", { title: "Playing for", dataset: { matchId: row.match_id } }, clock(LiveMatches.elapsed(row))),
      h("span.watchers", { title: "Spectators" }, eye(), ` ${row.spectators}`),
      h("button.small.watch-btn", { type: "button", disabled: playing, title: playing ? "You are playing this match" : "", onclick: () => onWatch(row) }, "Watch")));
  }
}

/** Refresh the elapsed clocks of the rows shown (called every second). */
export function tickLiveRows(list, live) {
  for (const el of list.querySelectorAll(".elapsed")) {
    const row = live.rows.get(el.dataset.matchId);
    if (row) el.textContent = clock(LiveMatches.elapsed(row));
  }
}

function eye() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "eye");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M12 5C6.5 5 2.7 9.1 1.5 12c1.2 2.9 5 7 10.5 7s9.3-4.1 10.5-7C21.3 9.1 17.5 5 12 5zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8zm0-6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** The spectator count for players and spectators: "<eye> 3 watching". */
export function watchersBadge(count) {
  return h("span.watchers", { id: "spectator-count", title: "Spectators", dataset: { count } }, eye(), ` ${count} watching`);
}

/** The replay controls: speed buttons, pause/resume, progress; `control(msg)` sends match.replay.control. */
export class ReplayBar {
  constructor(control, onStop) {
    this.control = control;
    this.state = { tick: 0, ticks: 0, speed: 1, paused: false };
    this.pauseBtn = h("button.small", { type: "button", id: "replay-pause", onclick: () => this.control({ paused: !this.state.paused }) }, "Pause");
    this.speedBtns = SPEEDS.map((speed) => h("button.small.secondary.speed", {
      type: "button", dataset: { speed }, "aria-pressed": "false", onclick: () => this.control({ speed }),
    }, `${speed}×`));
    this.fill = h("div.replay-fill");
    this.label = h("span.muted.replay-time", { id: "replay-time" });
    this.el = h("div.replay-bar", { id: "replay-bar" },
      h("span.badge.replay-badge", {}, "Replay"),
      this.pauseBtn,
      h("div.speeds", { role: "group", "aria-label": "Replay speed" }, this.speedBtns),
      h("div.replay-progress", { role: "progressbar", "aria-label": "Replay progress" }, this.fill),
      this.label,
      h("button.small.secondary", { type: "button", id: "replay-stop", onclick: onStop }, "Close"));
    this.setState({});
  }

  setState(state) {
    this.state = { ...this.state, ...state };
    this.pauseBtn.textContent = this.state.paused ? "Resume" : "Pause";
    this.pauseBtn.classList.toggle("secondary", this.state.paused);
    this.el.dataset.paused = String(this.state.paused);
    this.el.dataset.speed = String(this.state.speed);
    for (const btn of this.speedBtns) {
      const on = Number(btn.dataset.speed) === this.state.speed;
      btn.classList.toggle("active", on);
      btn.setAttribute("aria-pressed", String(on));
    }
    this.progress(this.state.tick);
  }

  /** Show the position at `tick` of `ticks`, as time in the match (tickRate ticks a second). */
  progress(tick, tickRate = this.tickRate || 10) {
    this.tickRate = tickRate;
    this.state.tick = tick;
    const ticks = this.state.ticks || 1;
    this.fill.style.width = `${Math.min(100, (100 * tick) / ticks)}%`;
    this.label.textContent = `${clock(tick / tickRate)} / ${clock(this.state.ticks / tickRate)}`;
  }

  ended() {
    this.pauseBtn.disabled = true;
    for (const btn of this.speedBtns) btn.disabled = true;
    this.progress(this.state.ticks);
  }
}
