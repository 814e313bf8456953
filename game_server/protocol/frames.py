"""The compact msgpack form of `delta` frames, and the reader that turns it back into a message.

Most of what a server sends is deltas, one per tick per socket, and most of a delta in its map
form is key strings ("sub", "game", "players", "x"). On `skirmish.v1.msgpack` a live delta is
therefore a msgpack array instead of a map:

    [tick, t, node]                      base = tick - 1
    [tick, t, node, base]
    [tick, t, node, base, extra_names]

A node is a map from a key code to a value. A code is an int: `code >> 1` is the key, `code & 1`
the operation. Key x means, for 0 <= x < len(names), `names[x]` (the match's key names, sent as
`keys` in every snapshot); for x >= len(names), the number `x - len(names)` as a string (seats,
ids below 10^9); for x < 0, `extra_names[-x - 1]` (any other key, rare). Operation 1: the value is
an increment of an int (`add`). Operation 0: a map value is a nested node (`sub`: applied to the old
value, or to `{}` where that is not a map), any other value is set. The code nil maps to the list
of deleted keys' codes. Lists are leaves: maps inside lists are plain maps with string keys.

`unpack_delta` gives back the message in its map form, whose `delta` applies with
`engine.delta.patch` exactly as the map form would. Snapshots and every other message stay maps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import msgpack

from engine.delta import Tree, is_index


@lru_cache(maxsize=1024)
def _index(names: tuple[str, ...]) -> dict[str, int]:
    """Key -> code for a match's names; the numeric keys met so far are added by `_Packer.code`."""
    return {name: 2 * at for at, name in enumerate(names)}


NUMBER_CODES_MAX = 4096  # numeric keys remembered per names tuple (seats, ids: a match's few hundred)


class _Packer:
    __slots__ = ("extras", "index", "numbers")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.index = _index(names)
        self.numbers = len(names)
        self.extras: dict[str, int] = {}

    def code(self, key: str) -> int:
        code = self.index.get(key)
        if code is not None:
            return code
        if is_index(key) and len(key) <= 9:  # (a longer number travels as an extra name)
            code = 2 * (self.numbers + int(key))
            if len(self.index) < self.numbers + NUMBER_CODES_MAX:
                self.index[key] = code  # (a number is never one of the names: no clash)
            return code
        extra = self.extras.get(key)
        if extra is None:
            extra = self.extras[key] = -2 * (len(self.extras) + 1)
        return extra

    def node(self, delta: Tree) -> dict[int | None, Any]:
        out: dict[int | None, Any] = {}
        index = self.index
        # (index.get first, inline: nearly every key is a name or a number met before)
        changed = delta.get("set")
        if changed:
            for key, value in changed.items():
                code = index.get(key)
                out[self.code(key) if code is None else code] = self.tree(value) if type(value) is dict else value
        steps = delta.get("add")
        if steps:
            for key, step in steps.items():
                code = index.get(key)
                out[(self.code(key) if code is None else code) + 1] = step
        removed = delta.get("del")
        if removed:
            out[None] = [self.code(key) for key in removed]
        nested = delta.get("sub")
        if nested:
            for key, sub in nested.items():
                code = index.get(key)
                out[self.code(key) if code is None else code] = self.node(sub)
        return out

    def tree(self, value: Tree) -> dict[int | None, Any]:
        """A whole map set as a value: a node of sets (applied to `{}`, it gives the map)."""
        code = self.code
        return {code(key): self.tree(item) if type(item) is dict else item for key, item in value.items()}


def pack_delta(message: dict[str, Any], names: tuple[str, ...]) -> bytes:
    """The compact msgpack bytes of a plain `delta` message (see the module's doc)."""
    packer = _Packer(names)
    node = packer.node(message["delta"])
    tick, base = message["tick"], message["base"]
    out: list[Any] = [tick, message["t"], node]
    if packer.extras:
        out += [base, list(packer.extras)]
    elif base != tick - 1:
        out.append(base)
    return msgpack.packb(out, use_bin_type=True)


def unpack_delta(items: Sequence[Any], names: Sequence[str]) -> dict[str, Any]:
    """The plain `delta` message of a compact one; ValueError when it is not well formed."""
    if not 3 <= len(items) <= 5:
        raise ValueError(f"a compact delta has 3 to 5 items, not {len(items)}")
    tick, t, node = items[0], items[1], items[2]
    base = items[3] if len(items) > 3 else tick - 1 if type(tick) is int else None
    extras = items[4] if len(items) > 4 else []
    if type(tick) is not int or type(base) is not int or type(t) not in (int, float):
        raise ValueError("a compact delta's tick and base are ints and its t a number")
    if type(node) is not dict or type(extras) is not list:
        raise ValueError("a compact delta's node is a map and its extra names a list")
    return {"type": "delta", "tick": tick, "base": base, "t": t, "delta": _Reader(names, extras).node(node)}


class _Reader:
    __slots__ = ("extras", "names")

    def __init__(self, names: Sequence[str], extras: Sequence[Any]) -> None:
        self.names = names
        self.extras = extras

    def key(self, code: Any) -> str:
        if type(code) is not int:
            raise ValueError(f"a key code is an int, not {type(code).__name__}")
        at = code >> 1
        if at < 0:
            if -at > len(self.extras) or type(self.extras[-at - 1]) is not str:
                raise ValueError(f"key code {code} names no extra name")
            return self.extras[-at - 1]
        return self.names[at] if at < len(self.names) else str(at - len(self.names))

    def node(self, node: dict[Any, Any]) -> Tree:
        sets: Tree = {}
        adds: Tree = {}
        subs: Tree = {}
        out: Tree = {}
        for code, value in node.items():
            if code is None:
                if type(value) is not list:
                    raise ValueError("deleted keys come as a list")
                out["del"] = [self.key(c) for c in value]
                continue
            key = self.key(code)
            if code & 1:
                if type(value) is not int:
                    raise ValueError(f"the increment of {key!r} is not an int")
                adds[key] = value
            elif type(value) is dict:
                subs[key] = self.node(value)
            else:
                sets[key] = value
        if sets:
            out["set"] = sets
        if adds:
            out["add"] = adds
        if subs:
            out["sub"] = subs
        return out


class FrameReader:
    """Turns one socket's server frames into plain messages (compact deltas in their map form).

    Keeps the key names of the last snapshot that carried them. A compact delta that comes
    before any snapshot (the match's frames can overtake the snapshot that answers a join) reads
    as None: there is no document to apply it to yet.
    """

    def __init__(self) -> None:
        self.names: list[str] = []

    def read(self, raw: bytes | str) -> Any:
        """The message in a frame (msgpack for bytes, JSON for text); ValueError if undecodable,
        None for a compact delta before the first snapshot."""
        if isinstance(raw, str):
            return json.loads(raw)
        try:
            obj = msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except (msgpack.UnpackException, ValueError, TypeError) as exc:
            raise ValueError(f"cannot decode frame: {exc!r}") from None
        if type(obj) is list:
            if not self.names:
                return None
            return unpack_delta(obj, self.names)
        if type(obj) is dict and obj.get("type") == "snapshot" and type(obj.get("keys")) is list:
            self.names = obj["keys"]
        return obj
