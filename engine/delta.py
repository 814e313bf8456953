"""Deltas between two views, and their application.

A view is a tree of dicts (string keys) whose leaves are scalars or lists. A delta says only
what changed between two such trees:

    {"set": {key: new value}, "add": {key: increment}, "del": [key, ...], "sub": {key: nested delta}}

Empty parts are left out, so an unchanged view diffs to `{}`. An int that changed by less than
its new size (a position that moved, a counter that went up) is sent as an increment in `add`;
other changes are in `set`. Lists are leaves: a changed list is sent whole. A `sub` applies to
`{}` where the old value is missing or not a dict. `patch(old, diff(old, new)) == new` for every
pair (tested).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import Any

Tree = dict[str, Any]


def diff(old: Tree, new: Tree) -> Tree:
    """The delta that turns `old` into `new`."""
    changed: Tree = {}
    added: Tree = {}
    nested: Tree = {}
    kept = 0  # keys of `old` also in `new`: when that is all of them, nothing was removed
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if before is _MISSING:
            changed[key] = value
            continue
        kept += 1
        if before is value:  # (a part the view reuses every tick: no walk through it)
            continue
        kind = type(value)
        if before == value and type(before) is kind and (kind not in _CONTAINERS or _same(before, value)):
            continue
        if kind is dict and type(before) is dict:
            nested[key] = diff(before, value)
        elif kind is int and type(before) is int and abs(value - before) < abs(value):
            added[key] = value - before
        else:
            changed[key] = value
    out: Tree = {}
    if changed:
        out["set"] = changed
    if added:
        out["add"] = added
    if kept != len(old):
        out["del"] = [key for key in old if key not in new]
    if nested:
        out["sub"] = nested
    return out


_MISSING = object()
_CONTAINERS = (dict, list)


def _same(old: Any, new: Any) -> bool:
    """For two containers that are `==`: the same types all the way down too (`==` takes [0] for
    [False] and [1.0], which a client would not). pickle writes each type its own way, in C."""
    return pickle.dumps(old, 5) == pickle.dumps(new, 5)


def patch(old: Tree, delta: Tree) -> Tree:
    """Apply `delta` to `old`, returning a new tree (`old` is not changed)."""
    new = dict(old)
    for key, value in delta.get("set", {}).items():
        new[key] = value
    for key, step in delta.get("add", {}).items():
        new[key] = new[key] + step
    for key in delta.get("del", ()):
        new.pop(key, None)
    for key, sub in delta.get("sub", {}).items():
        base = new.get(key)
        new[key] = patch(base if type(base) is dict else {}, sub)
    return new


def names(trees: Iterable[Tree]) -> tuple[str, ...]:
    """The distinct dict keys of the trees that are not numbers ("x", "players"; not "17"), sorted.

    Lists are leaves: the keys of dicts inside lists are not counted."""
    found: set[str] = set()
    stack: list[Tree] = list(trees)
    while stack:
        tree = stack.pop()
        for key, value in tree.items():
            if not is_index(key):
                found.add(key)
            if type(value) is dict:
                stack.append(value)
    return tuple(sorted(found))


def is_index(key: str) -> bool:
    """A key that is a canonical non-negative decimal ("0", "17"; not "007", "-1", "1.0")."""
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0")
