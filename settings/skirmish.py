"""Skirmish's own knobs: tick rate, limits, grace periods, where the engine runs."""

from __future__ import annotations

from settings.base import REDIS_URL
from settings.env import env_int, env_str

#: Default tick rate for games that do not set their own (1..60 Hz).
SKIRMISH_TICK_RATE = env_int("TICK_RATE", 20, 1, 60)
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
