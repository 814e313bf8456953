"""A canonical byte form of game state, for state hashes that replays compare.

Walks dataclasses, dicts, lists, tuples and scalars in a fixed order, so two states built by
different paths (live play, replay, checkpoint restore) hash alike exactly when they are equal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return repr(obj)  # exact: two floats print alike only when they are equal
    return obj


def state_hash(state: Any) -> str:
    """A short hex digest of the state's canonical form."""
    blob = json.dumps(_plain(state), separators=(",", ":"), ensure_ascii=True)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()
