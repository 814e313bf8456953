// Colyseus 0.18 peer for the Skirmish "arena" benchmark (started by `python -m bench.run`).
//
// Same workload as Skirmish's arena: a 40x30 world, discs that accelerate towards the direction
// held ({dx, dy} in -1..1), slide along walls and pick up points; positions in centi-units (ints).
// One room per match; players send an "input" message each tick; spectators only watch. The room
// ticks at RATE Hz and sends a schema patch at the end of every tick (patchRate disabled, then
// broadcastPatch() per tick), so a patch carries the state of the tick it was computed in. Each tick
// advances the world by a fixed 1/RATE s, as Skirmish's engine does. (Until 26 Nov it used the
// measured `deltaTime`, and disabled patchRate before starting the simulation: Colyseus then ran a
// second 60 Hz interval per room that ticked the room's clock too, so the simulation saw the time
// since that interval's last tick, mostly 0 at 60 Hz: the discs hardly moved.)
// `t` (ms, wall clock) and `tick` in the root state let the load generator measure latency and loss.
//
// Usage: node server.js [port] [rate]   (env PORT / RATE work too)
"use strict";

const { Server, Room } = require("@colyseus/core");
const { WebSocketTransport } = require("@colyseus/ws-transport");
const { Schema, MapSchema, ArraySchema, defineTypes } = require("@colyseus/schema");

const PORT = Number(process.argv[2] || process.env.PORT || 2567);
const RATE = Number(process.argv[3] || process.env.RATE || 20);
const WIDTH = 40;
const HEIGHT = 30;
const SPEED = 8;
const ACCEL = 40;
const RADIUS = 0.6;
const PICKUP_RADIUS = 0.4;

class Player extends Schema {}
defineTypes(Player, { x: "int32", y: "int32", vx: "int32", vy: "int32", score: "uint16" });

class Pickup extends Schema {}
defineTypes(Pickup, { id: "uint32", x: "int32", y: "int32" });

class ArenaState extends Schema {}
defineTypes(ArenaState, { tick: "uint32", t: "float64", players: { map: Player }, pickups: [Pickup] });

class ArenaRoom extends Room {
  onCreate(options) {
    this.maxClients = 6;
    this.maxMessagesPerSecond = 1000;
    const state = new ArenaState();
    state.tick = 0;
    state.t = Date.now();
    state.players = new MapSchema();
    state.pickups = new ArraySchema();
    this.setState(state);
    this.bodies = new Map(); // sessionId -> {x, y, vx, vy, dx, dy, score} in world units
    this.nextPickup = 0;
    this.pickups = [];
    for (let i = 0; i < 6; i++) this.spawnPickup();
    this.onMessage("input", (client, data) => {
      const body = this.bodies.get(client.sessionId);
      if (body && data) {
        body.dx = Math.max(-1, Math.min(1, data.dx | 0));
        body.dy = Math.max(-1, Math.min(1, data.dy | 0));
      }
    });
    this.setSimulationInterval(() => this.tick(1 / RATE), 1000 / RATE);
    // Patches are sent by tick() itself, once per tick. Disabled only now: with no simulation
    // interval yet, Colyseus would start an interval of its own to tick the room's clock.
    this.patchRate = null;
  }

  onJoin(client, options) {
    if (options && options.spectator) return;
    const n = this.bodies.size;
    const body = { x: 5 + 10 * n, y: 5 + 5 * (n % 2), vx: 0, vy: 0, dx: 0, dy: 0, score: 0 };
    this.bodies.set(client.sessionId, body);
    const p = new Player();
    this.state.players.set(client.sessionId, p);
    this.sync(p, body);
  }

  onLeave(client) {
    this.bodies.delete(client.sessionId);
    this.state.players.delete(client.sessionId);
  }

  spawnPickup() {
    const p = new Pickup();
    p.id = this.nextPickup++;
    p.x = Math.round((1 + Math.random() * (WIDTH - 2)) * 100);
    p.y = Math.round((1 + Math.random() * (HEIGHT - 2)) * 100);
    this.state.pickups.push(p);
  }

  sync(p, b) {
    p.x = Math.round(b.x * 100);
    p.y = Math.round(b.y * 100);
    p.vx = Math.round(b.vx * 100);
    p.vy = Math.round(b.vy * 100);
    p.score = b.score;
  }

  tick(dt) {
    for (const [sessionId, b] of this.bodies) {
      let ax = b.dx * ACCEL;
      let ay = b.dy * ACCEL;
      if (b.dx && b.dy) {
        ax *= Math.SQRT1_2;
        ay *= Math.SQRT1_2;
      }
      if (!b.dx) b.vx *= 0.8;
      if (!b.dy) b.vy *= 0.8;
      b.vx += ax * dt;
      b.vy += ay * dt;
      const speed = Math.hypot(b.vx, b.vy);
      if (speed > SPEED) {
        b.vx *= SPEED / speed;
        b.vy *= SPEED / speed;
      }
      b.x = Math.min(WIDTH - RADIUS, Math.max(RADIUS, b.x + b.vx * dt));
      b.y = Math.min(HEIGHT - RADIUS, Math.max(RADIUS, b.y + b.vy * dt));
      const pickups = this.state.pickups;
      for (let i = 0; i < pickups.length; i++) {
        const pk = pickups[i];
        if (Math.hypot(pk.x / 100 - b.x, pk.y / 100 - b.y) < RADIUS + PICKUP_RADIUS) {
          b.score += 1;
          pickups.splice(i, 1);
          this.spawnPickup();
          break;
        }
      }
      this.sync(this.state.players.get(sessionId), b);
    }
    this.state.tick += 1;
    this.state.t = Date.now();
    this.broadcastPatch();
  }
}

const server = new Server({ transport: new WebSocketTransport({ perMessageDeflate: false }), greet: false });
server.define("arena", ArenaRoom);
server.listen(PORT, "127.0.0.1").then(() => console.log(`colyseus arena on ws://127.0.0.1:${PORT} at ${RATE} Hz`));
