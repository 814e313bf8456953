"""Renders docs/protocol.md from the protocol itself, so the document cannot drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from game_server.protocol import codecs
from game_server.protocol.codes import CloseCode, ErrorCode
from game_server.protocol.examples import CLIENT_EXAMPLES, SERVER_EXAMPLES, example_payload

INTRO = f"""# Skirmish wire protocol, v1

> Generated from `game_server/protocol/` by `python -m game_server.protocol docs docs/protocol.md`;
> a test fails when this file and the code disagree. JSON Schema:
> `python -m game_server.protocol schema`.

## Connecting

- One socket per signed-in user: `ws(s)://<host>/ws/`.
- Subprotocol `{codecs.MSGPACK}` (binary frames, msgpack) or `{codecs.JSON}` (text frames, JSON).
  The server echoes the one it picked. Offering neither: the socket is accepted, then closed
  with 4005.
- The `Origin` header must match `ALLOWED_HOSTS`; otherwise the handshake is refused with HTTP 403
  (cross-site websocket hijacking defence). Desktop clients send their server's URL as `Origin`.
- Authentication: the browser's Django session cookie, or `Authorization: Bearer <token>` (from
  `POST /api/auth/token`). A handshake with a bearer header is authenticated by the token alone.
  No valid credentials, an inactive user, or a token in the query string: accepted, then closed
  with 4001.
- A newer socket of the same user replaces the older one (closed with 4010). The new socket
  gets the user's lobby (`lobby.state`) and, when the user holds a seat in a running match,
  `match.started` and a full `snapshot`: that is how a dropped player resumes within the grace
  period.

## Frames and limits

- At most {codecs.MAX_FRAME_BYTES} bytes per frame (setting `MAX_FRAME_BYTES`): a larger frame
  closes the socket with 1009. daphne's own limits (`--websocket-max-message-size`,
  `--websocket-max-frame-size`) are set to 64 KiB, above this one, so the application sees the
  frame and answers with 1009 instead of a dropped connection.
- A binary frame on the JSON subprotocol or a text frame on msgpack: `protocol/bad_frame`.
- msgpack: string keys only, no ext types or timestamps, no bin, at most {codecs.MAX_CONTAINER}
  items per array or map. JSON: no NaN or Infinity, no duplicate keys, no lone surrogates. Both:
  nesting at most {codecs.MAX_DEPTH} deep. Anything else that fails to decode:
  `protocol/malformed`.
- A message is a map with a `type`. Unknown or missing type: `protocol/unknown_type`. A missing,
  extra, mistyped or out-of-range field: `protocol/invalid` with `field` naming it. Numbers are
  strict (no strings for ints, no NaN), strings and lists have maximum lengths.
- Each invalid message gets an `error` frame and the socket stays open; after
  `MAX_INVALID_MESSAGES` (20) of them the socket is closed with 4002.

## Requests and replies

Every client message may carry `rid`, an integer of the client's choosing. The reply (`ok`,
`lobby.list`) or the `error` for that message echoes it, so a client can tell which request
failed. An `error` means nothing of the request was applied.

## Match frames

- On entering a match (start, reconnect) a player gets `match.started`, then a full `snapshot`.
  The document is `{{"acks", "seats", "spectators", "game"}}`: `acks` maps each seat to the last
  input `seq` the server processed (for prediction and reconciliation), `seats` to `connected`,
  `away` (within the grace period) or `dropped`, `spectators` is how many watch (never players),
  and `game` is the game's view for this viewer.
- Every tick after that brings a `delta` from tick `base` to tick `tick`:
  `{{"set": {{key: value}}, "add": {{key: increment}}, "del": [key], "sub": {{key: delta}}}}`, empty
  parts left out. `add` holds ints that changed by less than their new value (positions,
  counters): add the increment to the old value. `sub` applies to the old value, or to `{{}}`
  where that is missing or not a map. Lists are replaced whole. Apply a delta only when your
  document is at `base`; ignore deltas with `tick` at or below yours; on any other gap send
  `match.resync` and wait for the next `snapshot`.
- On `{codecs.MSGPACK}` a live delta comes in a compact form, a msgpack array instead of a map:
  `[tick, t, node]`, `[tick, t, node, base]` (when `base` is not `tick - 1`) or
  `[tick, t, node, base, extra_names]`. A node is a map from an int key code to a value:
  `code >> 1` is the key, `code & 1` the operation. Key `x` is `keys[x]` for `0 <= x < len(keys)`
  (`keys`: the match's key names, in every `snapshot`), the number `x - len(keys)` as a string
  above that (numbers below 10^9; longer ones are extra names), and `extra_names[-x - 1]` below
  0. Operation 1: the value goes in `add`. Operation 0: a map value is a nested node (`sub`),
  anything else goes in `set`. The code nil holds the list of deleted keys' codes. Maps inside
  lists are plain maps. In Python, `game_server.protocol.FrameReader` reads both forms;
  `unpack_delta` gives the map form. A 4-player arena delta is about 65 bytes this way and about
  190 as a map.
- All sockets that see the same view share one encoded frame per tick (encoded once per codec).
- Inputs: `match.input` with `seq` above the previous one. A stale or repeated `seq`, a jump
  of more than 1024, or a full input queue (8; at most one such error a second per seat) gives an
  `error` with that `seq`; the game's own refusals (`input/not_your_turn`, ...) arrive the same
  way after the tick.
- `match.ended` follows the last frame once the result is saved.
- Spectators (`match.spectate`) get the same frames of the spectators' view, held back by the
  lobby's `spectator_delay` seconds (their first snapshot too), and their `match.ended` after the
  last delayed frame. A replay (`match.replay`) is the same stream re-simulated from the stored
  inputs; its `match.ended` carries the verified `state_hash`, or an `error` `replay/mismatch`
  comes instead. See docs/spectating.md.
"""


def _describe(schema: dict[str, Any] | bool, defs: dict[str, Any]) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        parts = [_describe(s, defs) for s in schema["anyOf"]]
        return " or ".join(dict.fromkeys(parts))
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        kind = f"list of {_describe(schema.get('items', {}), defs)}"
    elif kind == "object" and "additionalProperties" in schema:
        kind = f"map of {_describe(schema['additionalProperties'], defs)}"
    limits = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "len ≥"), ("maxLength", "len ≤")):
        if key in schema:
            limits.append(f"{label} {schema[key]}")
    if "maxProperties" in schema:
        limits.append(f"≤ {schema['maxProperties']} keys")
    if "pattern" in schema:
        limits.append(f"pattern `{schema['pattern']}`")
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _message(model: BaseModel) -> str:
    cls = type(model)
    schema = cls.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    type_name = model.type  # type: ignore[attr-defined]
    lines = [f"### `{type_name}`", "", (cls.__doc__ or "").strip(), "", "| field | type | |", "|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        if name == "type":
            continue
        lines.append(f"| `{name}` | {_describe(prop, defs)} | {'required' if name in required else 'optional'} |")
    example = json.dumps(example_payload(model), ensure_ascii=False)
    lines += ["", "```json", example, "```", ""]
    return "\n".join(lines)


def _code_comments(enum_cls: type) -> dict[str, str]:
    source = Path(__file__).with_name("codes.py").read_text(encoding="utf-8")
    found = re.findall(r"^\s+([A-Z0-9_]+) = [^#\n]+#\s*(.+)$", source, re.M)
    return {name: comment for name, comment in found if name in enum_cls.__members__}


def render() -> str:
    """The whole protocol document."""
    parts = [INTRO, "## Client → server\n"]
    parts += [_message(msg) for msg in CLIENT_EXAMPLES]
    parts.append("## Server → client\n")
    parts += [_message(msg) for msg in SERVER_EXAMPLES]
    parts += ["## Error codes\n", "| code | meaning |", "|---|---|"]
    notes = _code_comments(ErrorCode)
    parts += [f"| `{code.value}` | {notes.get(code.name, '')} |" for code in ErrorCode]
    parts += ["", "## Close codes\n", "| code | name | meaning |", "|---|---|---|"]
    notes = _code_comments(CloseCode)
    parts += [f"| {code.value} | `{code.name}` | {notes.get(code.name, '')} |" for code in CloseCode]
    parts += [
        "| HTTP 403 | (handshake refused) | the `Origin` is not allowed |",
        "",
    ]
    return "\n".join(parts)
