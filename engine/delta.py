"""Deltas between two views, and their application.

A view is a tree of dicts (string keys) whose leaves are scalars or lists. A delta says only
what changed between two such trees:

    {"set": {key: new value}, "del": [key, ...], "sub": {key: nested delta}}

Empty parts are left out, so an unchanged view diffs to `{}`. Lists are leaves: a changed list
is sent whole. `patch(old, diff(old, new)) == new` for every pair (tested).
"""

from __future__ import annotations

from typing import Any

Tree = dict[str, Any]


def diff(old: Tree, new: Tree) -> Tree:
    """The delta that turns `old` into `new`."""
    changed: Tree = {}
    nested: Tree = {}
    for key, value in new.items():
        if key not in old:
            changed[key] = value
            continue
        before = old[key]
        if before == value:
            continue
        if type(value) is dict and type(before) is dict:
            nested[key] = diff(before, value)
        else:
            changed[key] = value
    out: Tree = {}
    if changed:
        out["set"] = changed
    removed = [key for key in old if key not in new]
    if removed:
        out["del"] = removed
    if nested:
        out["sub"] = nested
    return out


def patch(old: Tree, delta: Tree) -> Tree:
    """Apply `delta` to `old`, returning a new tree (`old` is not changed)."""
    new = dict(old)
    for key, value in delta.get("set", {}).items():
        new[key] = value
    for key in delta.get("del", ()):
        new.pop(key, None)
    for key, sub in delta.get("sub", {}).items():
        new[key] = patch(new.get(key, {}), sub)
    return new
