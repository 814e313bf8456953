// Arena on a canvas: keyboard (WASD / arrows) or the touch pad, client-side prediction of my disc
// reconciled with the server's input acks, interpolation of the other discs, a tick/latency HUD.
//
// Prediction replays my not-yet-acknowledged inputs on top of the server's state of my disc with
// the same movement rules as engine/games/arena.py (SPEED, ACCEL, walls, pillars).

import { h, clear, SEAT_COLOURS } from "./dom.js";

const SPEED = 8.0; // engine/games/arena.py
const ACCEL = 40.0;
const DIAGONAL = 1 / Math.SQRT2;
const INTERP_MS = 100; // others are drawn this far in the past, between two server frames
const KEYS = {
  ArrowUp: [0, -1], KeyW: [0, -1],
  ArrowDown: [0, 1], KeyS: [0, 1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0],
  ArrowRight: [1, 0], KeyD: [1, 0],
};

function approach(v, target, step) {
  return v < target ? Math.min(v + step, target) : Math.max(v - step, target);
}

/** One tick of my disc (world units), as the server moves it. */
export function stepBody(body, dx, dy, dt, world) {
  const scale = SPEED * (dx && dy ? DIAGONAL : 1);
  body.vx = approach(body.vx, dx * scale, ACCEL * dt);
  body.vy = approach(body.vy, dy * scale, ACCEL * dt);
  body.x += body.vx * dt;
  body.y += body.vy * dt;
  for (const [px, py, pr] of world.pillars) {
    const ox = body.x - px, oy = body.y - py, limit = pr + world.radius;
    const d2 = ox * ox + oy * oy;
    if (d2 >= limit * limit) continue;
    const d = Math.sqrt(d2);
    const [nx, ny] = d > 1e-9 ? [ox / d, oy / d] : [1, 0];
    body.x = px + nx * limit;
    body.y = py + ny * limit;
    const into = body.vx * nx + body.vy * ny;
    if (into < 0) { body.vx -= into * nx; body.vy -= into * ny; }
  }
  const r = world.radius;
  if (body.x < r || body.x > world.w - r) { body.x = Math.min(Math.max(body.x, r), world.w - r); body.vx = 0; }
  if (body.y < r || body.y > world.h - r) { body.y = Math.min(Math.max(body.y, r), world.h - r); body.vy = 0; }
}

export class ArenaView {
  constructor(root, conn) {
    this.conn = conn;
    this.canvas = h("canvas.arena", { id: "arena-canvas", width: 800, height: 600, tabindex: 0 });
    this.hud = h("div.hud", { id: "arena-hud" });
    this.scores = h("ol.scores", { id: "arena-scores" });
    this.pad = this.touchPad();
    clear(root).append(h("div.arena-wrap", {}, h("div.arena-stage", {}, this.canvas, this.hud), this.pad, this.scores));
    this.ctx = this.canvas.getContext("2d");
    this.held = new Set();
    this.dir = [0, 0];
    this.history = []; // per local tick: {seq, dx, dy}
    this.frames = []; // [{at, players}] for interpolation
    this.predicted = null;
    this.drawn = null;
    this.lastAckSeen = 0;
    this.correction = 0;
    this.onKey = (event) => this.key(event);
    window.addEventListener("keydown", this.onKey);
    window.addEventListener("keyup", this.onKey);
    this.canvas.focus({ preventScroll: true });
    this.tickMs = 1000 / (conn.match?.tick_rate || 20);
    this.timer = setInterval(() => this.localTick(), this.tickMs);
    this.raf = requestAnimationFrame(() => this.draw());
  }

  touchPad() {
    const pad = h("div.pad", { "aria-label": "Direction pad" });
    for (const [dx, dy, label] of [[-1, -1, "↖"], [0, -1, "↑"], [1, -1, "↗"], [-1, 0, "←"], [0, 0, "•"], [1, 0, "→"], [-1, 1, "↙"], [0, 1, "↓"], [1, 1, "↘"]]) {
      const press = (event) => { event.preventDefault(); this.setDir(dx, dy); };
      const release = (event) => { event.preventDefault(); this.setDir(0, 0); };
      pad.append(h("button.pad-btn", { type: "button", onpointerdown: press, onpointerup: release, onpointerleave: release }, label));
    }
    return pad;
  }

  key(event) {
    const move = KEYS[event.code];
    if (!move || event.target.closest?.("input, textarea")) return;
    event.preventDefault();
    if (event.type === "keydown") this.held.add(event.code);
    else this.held.delete(event.code);
    let dx = 0, dy = 0;
    for (const code of this.held) { dx += KEYS[code][0]; dy += KEYS[code][1]; }
    this.setDir(Math.sign(dx), Math.sign(dy));
  }

  setDir(dx, dy) {
    if (dx === this.dir[0] && dy === this.dir[1]) return;
    this.dir = [dx, dy];
    if (this.conn.match?.seat !== null && !this.over) this.conn.input({ dx, dy });
  }

  world(game) {
    return {
      w: game.size[0] / 100, h: game.size[1] / 100, radius: game.radius / 100,
      pillars: game.pillars.map(([x, y, r]) => [x / 100, y / 100, r / 100]),
    };
  }

  /** A local tick: remember what I held (for replay), advance my predicted disc. */
  localTick() {
    const seat = this.conn.match?.seat;
    if (seat === null || seat === undefined || !this.predicted || this.over) return;
    this.history.push({ seq: this.conn.seq, dx: this.dir[0], dy: this.dir[1] });
    if (this.history.length > 60) this.history.shift();
    stepBody(this.predicted, this.dir[0], this.dir[1], this.tickMs / 1000, this.worldOf);
  }

  render(view) {
    const game = view.doc.game;
    this.game = game;
    this.tick = view.tick;
    this.over = game.over;
    this.worldOf = this.world(game);
    const now = performance.now();
    this.frames.push({ at: now, players: game.players });
    while (this.frames.length > 2 && this.frames[1].at < now - INTERP_MS * 3) this.frames.shift();
    this.reconcile(view);
    this.renderScores(game);
  }

  /** Rebase my disc on the server's and replay the ticks whose inputs it has not applied yet. */
  reconcile(view) {
    const seat = this.conn.match?.seat;
    const mine = seat === null || seat === undefined ? null : view.doc.game.players[String(seat)];
    if (!mine) return;
    const ack = this.conn.ack();
    const server = { x: mine.x / 100, y: mine.y / 100, vx: mine.vx / 100, vy: mine.vy / 100 };
    // the ticks to replay: those since my first unacknowledged input, or half a round trip
    const lagTicks = Math.min(10, Math.round((this.conn.latency || 0) / 2 / this.tickMs) + 1);
    let from = this.history.findIndex((entry) => entry.seq > ack);
    if (from < 0 || this.history.length - from < lagTicks) from = Math.max(0, this.history.length - lagTicks);
    this.history = this.history.slice(from);
    const replay = { ...server };
    for (const entry of this.history) stepBody(replay, entry.dx, entry.dy, this.tickMs / 1000, this.worldOf);
    if (this.predicted) this.correction = Math.hypot(replay.x - this.predicted.x, replay.y - this.predicted.y);
    this.predicted = replay;
    this.lastAckSeen = ack;
  }

  interpolated(seatKey) {
    const target = performance.now() - INTERP_MS;
    const frames = this.frames;
    for (let i = frames.length - 1; i > 0; i--) {
      const a = frames[i - 1], b = frames[i];
      if (a.at <= target && target <= b.at && a.players[seatKey] && b.players[seatKey]) {
        const k = (target - a.at) / Math.max(1, b.at - a.at);
        const pa = a.players[seatKey], pb = b.players[seatKey];
        return { x: (pa.x + (pb.x - pa.x) * k) / 100, y: (pa.y + (pb.y - pa.y) * k) / 100 };
      }
    }
    const last = frames[frames.length - 1]?.players[seatKey];
    return last ? { x: last.x / 100, y: last.y / 100 } : null;
  }

  renderScores(game) {
    const rows = Object.entries(game.players)
      .map(([seat, p]) => ({ seat: Number(seat), ...p }))
      .sort((a, b) => b.score - a.score);
    clear(this.scores).append(
      ...rows.map((p) =>
        h("li", { class: p.on ? "" : "gone" }, h("span.swatch", { style: { background: SEAT_COLOURS[p.seat] } }),
          game.names[p.seat] + (p.seat === this.conn.match?.seat ? " (you)" : ""), h("strong", {}, String(p.score))),
      ),
    );
  }

  draw() {
    this.raf = requestAnimationFrame(() => this.draw());
    const game = this.game;
    if (!game) return;
    const world = this.worldOf;
    const canvas = this.canvas;
    const width = canvas.clientWidth || 800;
    const height = Math.round((width * world.h) / world.w);
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = this.ctx;
    const s = (canvas.width / world.w);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#0f1420";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "rgba(255,255,255,0.05)";
    ctx.lineWidth = 1;
    for (let x = 0; x <= world.w; x += 2) { ctx.beginPath(); ctx.moveTo(x * s, 0); ctx.lineTo(x * s, canvas.height); ctx.stroke(); }
    for (let y = 0; y <= world.h; y += 2) { ctx.beginPath(); ctx.moveTo(0, y * s); ctx.lineTo(canvas.width, y * s); ctx.stroke(); }
    ctx.fillStyle = "#2a3347";
    for (const [px, py, pr] of world.pillars) { ctx.beginPath(); ctx.arc(px * s, py * s, pr * s, 0, 2 * Math.PI); ctx.fill(); }
    const pr = game.pickup_radius / 100;
    const pulse = 1 + 0.12 * Math.sin(performance.now() / 180);
    ctx.fillStyle = "#5ee6c8";
    for (const [x, y] of Object.values(game.pickups)) {
      ctx.beginPath(); ctx.arc((x / 100) * s, (y / 100) * s, pr * s * pulse, 0, 2 * Math.PI); ctx.fill();
    }
    const mySeat = this.conn.match?.seat;
    for (const [seatKey, p] of Object.entries(game.players)) {
      const seat = Number(seatKey);
      let pos = seat === mySeat && this.predicted ? this.smoothed() : this.interpolated(seatKey);
      if (!pos) continue;
      ctx.globalAlpha = p.on ? 1 : 0.35;
      ctx.fillStyle = SEAT_COLOURS[seat];
      ctx.beginPath(); ctx.arc(pos.x * s, pos.y * s, world.radius * s, 0, 2 * Math.PI); ctx.fill();
      if (seat === mySeat) { ctx.strokeStyle = "#fff"; ctx.lineWidth = Math.max(2, s * 0.12); ctx.stroke(); }
      ctx.globalAlpha = 1;
      ctx.fillStyle = "#e8ecf4";
      ctx.font = `${Math.max(11, s * 0.7)}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillText(game.names[seat] || `P${seat + 1}`, pos.x * s, (pos.y - world.radius - 0.35) * s);
    }
    const left = Math.max(0, game.time_limit_ms / 1000 - game.elapsed_ds / 10);
    const latency = this.conn.latency === null ? "–" : `${this.conn.latency} ms`;
    this.hud.textContent = `${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, "0")} · tick ${this.tick} · ${latency}` +
      (mySeat !== null && mySeat !== undefined ? ` · ack ${this.lastAckSeen}/${this.conn.seq}` : this.conn.match?.replay ? " · replay" : " · spectating");
  }

  /** My disc: the prediction, with corrections eased in over a few frames. */
  smoothed() {
    const target = this.predicted;
    if (!this.drawn) this.drawn = { x: target.x, y: target.y };
    const far = Math.hypot(target.x - this.drawn.x, target.y - this.drawn.y) > 2;
    const k = far ? 1 : 0.35;
    this.drawn.x += (target.x - this.drawn.x) * k;
    this.drawn.y += (target.y - this.drawn.y) * k;
    return this.drawn;
  }

  destroy() {
    clearInterval(this.timer);
    cancelAnimationFrame(this.raf);
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("keyup", this.onKey);
  }
}
