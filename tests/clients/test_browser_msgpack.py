"""The browser's msgpack (clients/static/clients/msgpack.js) against the server's, run in Node.js.

Compact deltas packed by the server, read and applied by the browser's code, give the server's
documents; messages encoded by the browser are valid for the server's decoder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgpack
import pytest

from engine.delta import diff, names, patch
from game_server import protocol as p
from game_server.engine_bridge import frame_plain
from tests.game_server.test_compact_frames import arena_frames

STATIC = Path(__file__).resolve().parents[2] / "clients" / "static" / "clients"
NODE = shutil.which("node")

SCRIPT = """
import { readFileSync } from "node:fs";
import { decode, encode, expandDelta } from "./msgpack.js";
import { patch } from "./net.js";
const cases = JSON.parse(readFileSync(0, "utf-8"));
const hex = (b) => Buffer.from(b).toString("hex");
const docs = cases.deltas.map(({ old, raw, keys }) => {
  const items = decode(Uint8Array.from(Buffer.from(raw, "hex")));
  const msg = expandDelta(items, keys);
  return { tick: msg.tick, base: msg.base, t: msg.t, doc: patch(old, msg.delta) };
});
const encoded = cases.messages.map((m) => hex(encode(m)));
const snapshot = decode(Uint8Array.from(Buffer.from(cases.snapshot, "hex")));
process.stdout.write(JSON.stringify({ docs, encoded, snapshot }));
"""


def run_node(tmp_path: Path, cases: dict[str, Any]) -> dict[str, Any]:
    if NODE is None:
        pytest.skip("no node on PATH")
    for name in ("msgpack.js", "net.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "check.js").write_text(SCRIPT)
    out = subprocess.run(
        [NODE, "check.js"], cwd=tmp_path, input=json.dumps(cases), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def delta_case(old: dict[str, Any], new: dict[str, Any], known: tuple[str, ...], tick: int = 41, base: int = 40):
    message = {"type": "delta", "tick": tick, "base": base, "t": 1732470004100.5, "delta": diff(old, new)}
    return {"old": old, "raw": p.pack_delta(message, known).hex(), "keys": list(known)}, new


HAND_MADE = [
    # deletions, an extra name, a map replacing a scalar, a list of maps, unicode, floats, big ints
    (
        {"a": {"x": 1, "gone": 2}, "b": None, "n": 5},
        {"a": {"x": -300, "new key": "é✓"}, "b": {"c": [1, {"d": 2}]}, "n": 2**40},
    ),
    ({"players": {"0": {"x": 2000}, "17": {"x": 5}}}, {"players": {"0": {"x": 2040}, "123456789012": {"x": 1.5}}}),
    ({"on": True, "v": 0.25, "s": "a"}, {"on": False, "v": -1e300, "s": "b" * 300}),
]


def test_the_browser_applies_the_servers_compact_deltas_and_sends_valid_messages(tmp_path: Path):
    _, snapshot, frames = arena_frames(200)
    deltas, expected = [], []
    doc = snapshot["doc"]
    for frame in frames:
        raw = p.encode_all(frame_plain(frame), frame.names)[p.MSGPACK]
        deltas.append({"old": doc, "raw": raw.hex(), "keys": snapshot["keys"]})
        doc = patch(doc, frame.body)
        expected.append(doc)
    for old, new in HAND_MADE:
        case, want = delta_case(old, new, names([old]), base=7)
        deltas.append(case)
        expected.append(want)
    messages = [
        {"type": "match.input", "seq": 70_000, "data": {"dx": -1, "dy": 1}},
        {"type": "ping", "t": 1732470004100.5, "rid": 5},
        {"type": "lobby.chat", "text": "héllo ✓" * 20},
        {"type": "match.input", "seq": 3, "data": {"a": 200, "b": -100, "c": 40_000, "d": -40_000, "e": 2**31 - 1}},
        {"type": "match.input", "seq": 4, "data": {"f": -(2**31), "g": 0.5, "h": True, "i": None, "j": "é"}},
        {"type": "lobby.join", "lobby_id": 2**40},
    ]
    out = run_node(tmp_path, {"deltas": deltas, "messages": messages, "snapshot": msgpack.packb(snapshot).hex()})
    assert out["snapshot"] == snapshot
    assert [d["doc"] for d in out["docs"]] == expected
    for got, case in zip(out["docs"], deltas, strict=True):
        tick, t, _, *rest = msgpack.unpackb(bytes.fromhex(case["raw"]), strict_map_key=False)
        assert (got["tick"], got["t"], got["base"]) == (tick, t, rest[0] if rest else tick - 1)
    codec = p.CODECS[p.MSGPACK]
    for raw, message in zip(out["encoded"], messages, strict=True):
        decoded = p.decode_client(codec, bytes.fromhex(raw))
        assert decoded.model_dump(exclude_unset=True) == message
