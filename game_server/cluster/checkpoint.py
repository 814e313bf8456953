"""A running match to bytes and back, so another worker can resume it.

The whole `Match` object is pickled (state with its RNG, tick, seats with their acks and
grace timers, the input log, the last documents the deltas are computed against), except its
`Game`, which is stored by name and looked up in the registry on load. The state hash is stored
beside it and checked on load (`engine.canon.state_hash`), so a checkpoint that does not
reproduce the same state is refused rather than played on.

Checkpoints travel only between our own processes through our own Redis (the same trust as the
channel layer's messages), which is why pickle is acceptable here; never load one from elsewhere.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from typing import Any

from engine.game import Game
from engine.games import GAMES
from engine.match import Match

VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed from."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a new owner needs: the match, its lobby, and which socket holds each seat."""

    match: Match
    lobby_id: int | None
    seat_channels: dict[int, str]


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Game):
            return ("game", obj.name)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind != "game" or name not in GAMES:
            raise CheckpointError(f"unknown game in checkpoint: {name!r}")
        return GAMES[name]


def dumps(match: Match, *, lobby_id: int | None, seat_channels: dict[int, str]) -> bytes:
    """Serialize a match (and its hosting details) for a checkpoint."""
    buf = io.BytesIO()
    payload = {
        "version": VERSION,
        "match": match,
        "hash": match.state_hash(),
        "lobby_id": lobby_id,
        "seat_channels": dict(seat_channels),
    }
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    return buf.getvalue()


def loads(data: bytes) -> Checkpoint:
    """Rebuild a match from checkpoint bytes; CheckpointError when it is not usable."""
    try:
        payload = _Unpickler(io.BytesIO(data)).load()
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"unreadable checkpoint: {exc!r}") from exc
    if not isinstance(payload, dict) or payload.get("version") != VERSION:
        raise CheckpointError("checkpoint of another version")
    match = payload["match"]
    if not isinstance(match, Match) or match.state_hash() != payload["hash"]:
        raise CheckpointError("checkpoint state does not match its hash")
    return Checkpoint(match=match, lobby_id=payload["lobby_id"], seat_channels=dict(payload["seat_channels"]))
