"""A running match to bytes and back, so another worker can resume it.

The whole `Match` object is pickled (state with its RNG, tick, seats with their acks and
grace timers, the last documents the deltas are computed against), except its `Game`, which is
stored by name and looked up in the registry on load, and its input log. The state hash is stored
beside it and checked on load (`engine.canon.state_hash`), so a checkpoint that does not
reproduce the same state is refused rather than played on.

The input log grows all match long (a 5-minute arena match logs 24,000 inputs), so it is not in
the checkpoint: each checkpoint carries only the log's length, and the entries logged since the
previous checkpoint travel beside it as one *chunk* (`log_chunk`), appended to a Redis list by the
same script that stores the checkpoint (`store.py`). Pickling the whole log every time cost 1.9 ms
(53 KB) per checkpoint 25 s into an arena match, 0.17 ms (2 KB) without it, and grew without end.
`loads` joins the chunks and checks that they hold exactly the checkpoint's number of entries.

Checkpoints travel only between our own processes through our own Redis (the same trust as the
channel layer's messages), which is why pickle is acceptable here; never load one from elsewhere.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.game import Game
from engine.games import GAMES
from engine.match import LogEntry, Match

VERSION = 2  # 2: the log in chunks beside the checkpoint; 1 (log inside) still loads


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed from."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a new owner needs: the match, its lobby, and which socket holds each seat."""

    match: Match
    lobby_id: int | None
    seat_channels: dict[int, str]
    log_in_chunks: int = 0  # entries of match.log that came from the chunks (0: an older checkpoint held them)


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
    """Serialize a match (and its hosting details) for a checkpoint, all but its log's entries."""
    state = dict(match.__dict__)
    state["log"] = []
    payload = {
        "version": VERSION,
        "match_state": state,
        "log_len": len(match.log),
        "hash": match.state_hash(),
        "lobby_id": lobby_id,
        "seat_channels": dict(seat_channels),
    }
    return _dump(payload)


def log_chunk(entries: Sequence[LogEntry]) -> bytes:
    """Log entries (those logged since the previous checkpoint) as one chunk for `loads`."""
    return _dump(list(entries))


def loads(data: bytes, chunks: Sequence[bytes] = ()) -> Checkpoint:
    """Rebuild a match from checkpoint bytes and its log's chunks; CheckpointError when unusable."""
    payload = _load(data)
    if not isinstance(payload, dict) or payload.get("version") not in (1, VERSION):
        raise CheckpointError("checkpoint of another version")
    try:
        match = payload["match"] if payload["version"] == 1 else _rebuild(payload, chunks)
        if not isinstance(match, Match) or match.state_hash() != payload["hash"]:
            raise CheckpointError("checkpoint state does not match its hash")
        return Checkpoint(
            match=match,
            lobby_id=payload["lobby_id"],
            seat_channels=dict(payload["seat_channels"]),
            log_in_chunks=0 if payload["version"] == 1 else len(match.log),
        )
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"malformed checkpoint: {exc!r}") from exc


def _rebuild(payload: dict[str, Any], chunks: Sequence[bytes]) -> Match:
    log = [entry for chunk in chunks for entry in _load(chunk)]
    if len(log) != payload["log_len"]:
        raise CheckpointError(f"the stored log has {len(log)} entries, the checkpoint {payload['log_len']}")
    match = Match.__new__(Match)
    match.__setstate__({**payload["match_state"], "log": log})
    return match


def _dump(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _load(data: bytes) -> Any:
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"unreadable checkpoint: {exc!r}") from exc
