"""Skirmish's own knobs: tick rate, limits, grace periods, where the engine runs."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from game_server import netsim
from settings.base import BASE_DIR, DEBUG, REDIS_URL
from settings.env import env_bool, env_int, env_list, env_str

#: Tick rate of every new match (1..60 Hz); unset: each game's own (`Game.tick_rate`, arena 20).
SKIRMISH_TICK_RATE: int | None = env_int("TICK_RATE", 20, 1, 60) if env_str("TICK_RATE") else None
#: The protocol's own frame limit (bytes); daphne's limits are set on its command line.
SKIRMISH_MAX_FRAME_BYTES = env_int("MAX_FRAME_BYTES", 4096, 256, 65536)
#: Invalid messages tolerated on one socket before it is closed with 4002.
SKIRMISH_MAX_INVALID_MESSAGES = env_int("MAX_INVALID_MESSAGES", 20, 1)
#: Seconds a dropped player keeps the seat (None: each game's own default).
_grace = env_str("GRACE_SECONDS")
SKIRMISH_GRACE_SECONDS = float(_grace) if _grace else None
#: How long a desktop API token lives, in days.
SKIRMISH_TOKEN_DAYS = env_int("TOKEN_DAYS", 30, 1, 3650)
#: "inprocess": the web process hosts the engine (one-machine default);
#: "external": `manage.py runengine` workers do (requires REDIS_URL).
SKIRMISH_ENGINE = env_str("ENGINE_MODE", "external" if REDIS_URL else "inprocess")

#: Rate limits as (tokens per second, burst). "message": every frame of a socket, before
#: decoding; "patience": rate-limited messages a socket may send before it is closed (4008);
#: the rest are per user: inputs, chat lines, lobby operations, join-code guesses.
SKIRMISH_RATE_LIMITS: dict[str, tuple[float, float]] = {
    "message": (env_int("RATE_MESSAGES", 100, 1), 200),
    "patience": (1, 20),
    "input": (env_int("RATE_INPUTS", 70, 1), 100),  # 60 Hz games plus jitter
    "chat": (0.5, 5),
    "lobby": (3, 15),
    "code": (0.2, 5),
}
#: Sockets one client address may hold open in one web process.
SKIRMISH_MAX_SOCKETS_PER_IP = env_int("MAX_SOCKETS_PER_IP", 50, 1)

# ---- the cluster (engine workers on Redis; see docs/scaling.md) -------------------------------
#: A match's ownership lease in Redis, in ms; another worker takes the match over once it lapses.
SKIRMISH_LEASE_MS = env_int("ENGINE_LEASE_MS", 1500, 200, 60_000)
#: How often the owner renews its leases and checkpoints its matches, in ms (well under the lease).
SKIRMISH_CHECKPOINT_MS = env_int("CHECKPOINT_INTERVAL_MS", 500, 20, 30_000)
#: How often every worker looks for matches whose lease lapsed, in ms.
SKIRMISH_SCAN_MS = env_int("ENGINE_SCAN_MS", 500, 20, 30_000)
#: A group_send slower than this (ms) is skipped; the tick clock never waits on a stalled Redis.
SKIRMISH_PUBLISH_TIMEOUT_MS = env_int("PUBLISH_TIMEOUT_MS", 250, 10, 10_000)
if SKIRMISH_CHECKPOINT_MS * 2 > SKIRMISH_LEASE_MS:
    raise ImproperlyConfigured("CHECKPOINT_INTERVAL_MS must be at most half of ENGINE_LEASE_MS")

#: A bearer token that may read /metrics (besides staff users); empty: staff only.
SKIRMISH_METRICS_TOKEN = env_str("METRICS_TOKEN")

#: A socket with this many bytes unsent in the kernel (0: any) gets no tick deltas (it resyncs later)...
SKIRMISH_SLOW_CLIENT_BYTES = env_int("SLOW_CLIENT_BYTES", 0, 0)
#: ...and is closed with 4009 once it has stayed over that for this many seconds.
SKIRMISH_SLOW_CLIENT_SECONDS = env_int("SLOW_CLIENT_SECONDS", 5, 1)

#: How tick frames reach sockets in one-machine mode: "direct" (the in-memory layer hands them to
#: each socket, which writes a websocket frame built once per message) or "layer" (queued per
#: consumer like every other message). Redis layers and NETSIM always use the layer.
SKIRMISH_FANOUT = env_str("FANOUT", "direct")
if SKIRMISH_FANOUT not in ("direct", "layer"):
    raise ImproperlyConfigured("FANOUT must be direct or layer")

#: Wake ticks with a Linux timerfd (to the microsecond) rather than the event loop's timers,
#: which epoll rounds up to the next millisecond (game_server/clock.py).
SKIRMISH_TICK_TIMERFD = env_bool("TICK_TIMERFD", True)

#: Games to register besides the shipped ones: "package.module:ClassName", comma-separated.
SKIRMISH_EXTRA_GAMES = env_list("EXTRA_GAMES")

#: Largest frame the server sends; keep it under daphne's --websocket-max-message-size (64 KiB in
#: scripts/run), which also caps outbound messages (a larger one would close the socket with 1011).
SKIRMISH_MAX_OUTBOUND_BYTES = env_int("MAX_OUTBOUND_BYTES", 60_000, 1024)

#: On SIGTERM, sockets are closed with 1012 and the web process waits this long before exiting.
SKIRMISH_DRAIN_SECONDS = env_int("DRAIN_SECONDS", 1, 0, 60)

#: Where finished matches' results wait until the database has them (see game_server/outbox.py).
SKIRMISH_OUTBOX_DIR = env_str("OUTBOX_DIR", str(BASE_DIR / "var" / "outbox"))

#: Development only: delay outgoing frames and drop a share of tick deltas, e.g.
#: NETSIM=latency_ms=80,jitter_ms=20,loss=0.05 (game_server/netsim.py). Refused when DEBUG is off.
try:
    SKIRMISH_NETSIM = netsim.parse(env_str("NETSIM"))
except ValueError as exc:
    raise ImproperlyConfigured(f"NETSIM: {exc}") from None
if SKIRMISH_NETSIM is not None and not DEBUG:
    raise ImproperlyConfigured("NETSIM simulates a bad network for development and is refused when DEBUG is off")
