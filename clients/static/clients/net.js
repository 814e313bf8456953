// The socket: msgpack subprotocol, requests matched by rid, deltas applied, automatic reconnects.
//
// Events (conn.on(type, fn)): every server message by its `type`, plus "open", "close",
// "view" (the match document changed: {matchId, seat, tick, t, doc}), "latency".

import { decode, encode, expandDelta } from "./msgpack.js";

export const SUBPROTOCOL = "skirmish.v1.msgpack";
const FATAL = new Set([4001, 4003, 4005, 4010]);

/** Apply a delta {"set", "add", "del", "sub"} to a document (engine.delta.patch). */
export function patch(old, delta) {
  const out = { ...old };
  for (const [key, value] of Object.entries(delta.set || {})) out[key] = value;
  for (const [key, step] of Object.entries(delta.add || {})) out[key] += step;
  for (const key of delta.del || []) delete out[key];
  for (const [key, sub] of Object.entries(delta.sub || {})) {
    const base = out[key];
    out[key] = patch(base !== null && typeof base === "object" && !Array.isArray(base) ? base : {}, sub);
  }
  return out;
}

export class Connection {
  constructor(url) {
    this.url = url;
    this.handlers = new Map();
    this.pending = new Map();
    this.rid = 0;
    this.seq = 0;
    this.resumeSeq = 0;
    this.backoff = 250;
    this.ws = null;
    this.closedForGood = false;
    this.user = null;
    this.match = null; // match.started
    this.view = null; // {matchId, seat, tick, t, doc}
    this.replayState = null; // match.replay.state of the replay being watched
    this.keys = null; // the match's key names, from the last snapshot (compact deltas refer to them)
    this.resyncing = false;
    this.latency = null;
    this.serverOffset = 0; // server time - local time, ms
    this.reconnects = 0;
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  emit(type, payload) {
    for (const fn of this.handlers.get(type) || []) {
      try {
        fn(payload);
      } catch (err) {
        console.warn("handler for", type, "failed:", err);
      }
    }
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.user !== null;
  }

  open() {
    const ws = new WebSocket(this.url, [SUBPROTOCOL]);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.keys = null;
    ws.onmessage = (event) => {
      const msg = this.read(new Uint8Array(event.data));
      if (msg !== null) this.receive(msg);
    };
    ws.onclose = (event) => this.closed(ws, event);
  }

  /** A frame as a message; null for a compact delta before any snapshot (nothing to apply it to). */
  read(bytes) {
    const msg = decode(bytes);
    if (Array.isArray(msg)) return this.keys ? expandDelta(msg, this.keys) : null;
    if (msg.type === "snapshot" && Array.isArray(msg.keys)) this.keys = msg.keys;
    return msg;
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.user = null;
    clearInterval(this.pinger);
    for (const { reject } of this.pending.values()) reject({ code: "client/disconnected", message: "connection lost" });
    this.pending.clear();
    const fatal = FATAL.has(event.code);
    this.emit("close", { code: event.code, reason: event.reason, fatal });
    if (fatal || this.closedForGood) return;
    this.reconnects += 1;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 5000);
    setTimeout(() => this.open(), delay);
  }

  /** Drop the socket as a network failure would (used by the "reconnect" button and tests). */
  drop() {
    if (this.ws) this.ws.close(4000, "dropped by the client");
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encode(message));
    return true;
  }

  /** Send a request; resolves with its reply (ok, lobby.list, pong), rejects with the error frame. */
  request(message, timeout = 10000) {
    this.rid += 1;
    const rid = this.rid;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, rid })) {
        reject({ code: "client/disconnected", message: "not connected; try again in a moment" });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject({ code: "client/timeout", message: "the server did not answer" });
      }, timeout);
      this.pending.set(rid, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  /** Send an input for my seat with the next sequence number; returns the seq (or 0 if offline). */
  input(data) {
    if (!this.connected || !this.match || this.match.seat === null) return 0;
    this.seq += 1;
    this.send({ type: "match.input", seq: this.seq, data });
    return this.seq;
  }

  ack(seat = this.match?.seat) {
    return this.view ? Number(this.view.doc.acks?.[String(seat)] || 0) : 0;
  }

  awaitingAck() {
    return this.seq > this.resumeSeq && this.ack() < this.seq;
  }

  serverNow() {
    return Date.now() + this.serverOffset;
  }

  ping() {
    const sent = performance.now();
    this.request({ type: "ping", t: Date.now() })
      .then((pong) => {
        this.latency = Math.round(performance.now() - sent);
        this.serverOffset = pong.server_time - (Date.now() - this.latency / 2);
        this.emit("latency", this.latency);
      })
      .catch(() => {});
  }

  receive(msg) {
    const fn = this["on_" + msg.type.replace(/\./g, "_")];
    if (fn) fn.call(this, msg);
    if (msg.rid !== undefined && msg.rid !== null && this.pending.has(msg.rid)) {
      const { resolve, reject } = this.pending.get(msg.rid);
      this.pending.delete(msg.rid);
      if (msg.type === "error") reject(msg);
      else resolve(msg);
    }
    this.emit(msg.type, msg);
  }

  on_welcome(msg) {
    this.user = msg.user;
    this.games = msg.games;
    this.backoff = 250;
    this.view = null;
    this.resyncing = false;
    this.emit("open", msg);
    clearInterval(this.pinger);
    this.ping();
    this.pinger = setInterval(() => this.ping(), 2000);
  }

  on_match_started(msg) {
    // A replay always starts again at tick 0, even of the match on screen.
    if (!this.match || this.match.match_id !== msg.match_id || msg.replay || this.match.replay) this.view = null;
    if (msg.replay) this.replayState = null;
    this.match = msg;
  }

  on_match_replay_state(msg) {
    this.replayState = msg;
  }

  on_snapshot(msg) {
    if (!this.match || (this.view && msg.tick < this.view.tick)) return;
    this.resyncing = false;
    this.view = { matchId: this.match.match_id, seat: this.match.seat, tick: msg.tick, t: msg.t, doc: msg.doc };
    if (this.match.seat !== null) {
      this.seq = Math.max(this.seq, this.ack());
      this.resumeSeq = this.seq;
    }
    this.emit("view", this.view);
  }

  on_delta(msg) {
    if (!this.match) return;
    if (!this.view || msg.base !== this.view.tick) {
      if (!this.resyncing) {
        this.resyncing = true;
        this.send({ type: "match.resync" });
      }
      return;
    }
    this.view = { ...this.view, tick: msg.tick, t: msg.t, doc: patch(this.view.doc, msg.delta) };
    this.emit("view", this.view);
  }

  on_match_ended(msg) {
    if (this.match && this.match.match_id === msg.match_id) this.match = { ...this.match, ended: msg };
  }
}
