"""The two codecs, chosen by websocket subprotocol, and the decoder's limits.

`skirmish.v1.msgpack` travels in binary frames, `skirmish.v1.json` in text frames. Decoding is
bounded before anything is allocated: a frame over `max_bytes` is refused, msgpack's own
length limits and map-key rule apply, ext types are refused, nesting deeper than MAX_DEPTH is
refused, JSON refuses NaN/Infinity, duplicate keys and lone surrogates. Every failure becomes
one `ProtocolError`; no decoder exception escapes (RecursionError included).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack
from pydantic import TypeAdapter, ValidationError

from game_server.protocol.codes import ErrorCode
from game_server.protocol.frames import pack_delta
from game_server.protocol.messages import (
    INT32_MAX,
    KEY_PATTERN,
    MAX_FLOAT,
    MAX_INPUT_KEYS,
    MAX_KEY,
    MAX_SHORT_STR,
    ClientMessage,
    ServerModel,
)

MSGPACK = "skirmish.v1.msgpack"
JSON = "skirmish.v1.json"
MAX_FRAME_BYTES = 4096
MAX_DEPTH = 6
MAX_CONTAINER = 64


class ProtocolError(Exception):
    """A frame or message the server refuses; becomes an `error` frame."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None, rid: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.rid = rid


class FrameTooLarge(ProtocolError):
    """A frame over the size limit: the socket closes with 1009."""


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"ext type {code} is not allowed")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


_FLAT = frozenset((int, bool, type(None)))


def _check_shape(obj: Any, depth: int = 0, text: bool = True) -> None:
    """Refuse deep nesting, non-finite floats and (`text`: JSON) lone surrogates.

    Recursion stops at MAX_DEPTH, so it is bounded. msgpack's strict UTF-8 decoding already
    refuses surrogates, so its frames skip that part (`text=False`)."""
    kind = type(obj)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise ValueError("nested too deeply")
        for key, value in obj.items():
            if text and type(key) is str:
                key.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
            if type(value) not in _FLAT:
                _check_shape(value, depth + 1, text)
    elif kind is list:
        if depth >= MAX_DEPTH:
            raise ValueError("nested too deeply")
        for value in obj:
            if type(value) not in _FLAT:
                _check_shape(value, depth + 1, text)
    elif kind is str:
        if text:
            obj.encode("utf-8")
    elif kind is float and not math.isfinite(obj):
        raise ValueError("non-finite number")


@dataclass(frozen=True, slots=True)
class Codec:
    """Turns frames into Python data and back, for one subprotocol."""

    subprotocol: str
    binary: bool
    loads: Callable[[bytes | str], Any]
    dumps: Callable[[Any], bytes | str]


def _msgpack_loads(data: bytes | str) -> Any:
    assert isinstance(data, bytes)
    return msgpack.unpackb(
        data,
        raw=False,
        strict_map_key=True,
        ext_hook=_refuse_ext,
        max_str_len=MAX_FRAME_BYTES,
        max_bin_len=0,
        max_array_len=MAX_CONTAINER,
        max_map_len=MAX_CONTAINER,
        max_ext_len=0,
        timestamp=0,
    )


def _json_loads(data: bytes | str) -> Any:
    return json.loads(data, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)


def _msgpack_dumps(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


CODECS: dict[str, Codec] = {
    MSGPACK: Codec(MSGPACK, True, _msgpack_loads, _msgpack_dumps),
    JSON: Codec(JSON, False, _json_loads, _json_dumps),
}

_client_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)
#: What a codec's `loads` (and the shape check) raise on a bad frame.
_DECODE_ERRORS = (ValueError, RecursionError, UnicodeError, TypeError, msgpack.UnpackException)


def choose_codec(offered: list[str]) -> Codec | None:
    """The first subprotocol offered that the server speaks, or None."""
    for name in offered:
        codec = CODECS.get(name)
        if codec is not None:
            return codec
    return None


def decode_client(codec: Codec, data: bytes | str | None, max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """A validated client message, or ProtocolError (FrameTooLarge for oversize frames)."""
    if data is None or isinstance(data, bytes) != codec.binary:
        expected = "binary" if codec.binary else "text"
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{codec.subprotocol} expects {expected} frames")
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FrameTooLarge(ErrorCode.INVALID, f"frame of {size} bytes is over the {max_bytes}-byte limit")
    try:
        obj = codec.loads(data)
        _check_shape(obj, text=not codec.binary)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"cannot decode frame: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.INVALID, "a message is a map with a 'type' field")
    rid = obj.get("rid") if type(obj.get("rid")) is int else None
    try:
        return _client_adapter.validate_python(obj)
    except ValidationError as exc:
        raise _validation_error(exc, rid) from None


class InputFrame(NamedTuple):
    """A `match.input` checked by `decode_input`: what handlers read from a `MatchInput`."""

    seq: int
    data: dict[str, Any]
    rid: int | None

    type = "match.input"


_INPUT_FIELDS = frozenset(("type", "seq", "data", "rid"))
_input_key = re.compile(KEY_PATTERN).fullmatch
_input_keys: set[str] = set()  # data keys already found valid (at most 256 kept)


def decode_input(codec: Codec, data: bytes | str, max_bytes: int = MAX_FRAME_BYTES) -> InputFrame | None:
    """The usual `match.input` (a few scalars in `data`), checked here without pydantic; None for
    anything else, which `decode_client` then decodes (and refuses, with its error, if invalid).

    Players send one of these per tick each: this is the server's hottest decoder. It accepts
    only what `decode_client` accepts, with the same values (tests/game_server/test_decode_input.py
    checks that on generated frames); where it is unsure it says None.
    """
    if type(data) is not (bytes if codec.binary else str) or len(data) > max_bytes // 4:
        return None  # (a frame of under max_bytes / 4 characters is under max_bytes bytes)
    try:
        obj = codec.loads(data)
    except _DECODE_ERRORS:
        return None
    if type(obj) is not dict or obj.get("type") != "match.input" or not obj.keys() <= _INPUT_FIELDS:
        return None
    seq, values, rid = obj.get("seq"), obj.get("data"), obj.get("rid")
    if type(seq) is not int or not 1 <= seq <= INT32_MAX or type(values) is not dict or len(values) > MAX_INPUT_KEYS:
        return None
    if rid is not None and (type(rid) is not int or not 0 <= rid <= INT32_MAX):
        return None
    text = not codec.binary
    for key, value in values.items():
        if key not in _input_keys:
            if type(key) is not str or len(key) > MAX_KEY or not _input_key(key):
                return None
            if len(_input_keys) < 256:
                _input_keys.add(key)
        kind = type(value)
        if kind is bool or value is None:
            continue
        if kind is int:
            if not -INT32_MAX - 1 <= value <= INT32_MAX:
                return None
        elif kind is float:
            if not -MAX_FLOAT <= value <= MAX_FLOAT:  # (False for NaN too)
                return None
        elif kind is str:
            if len(value) > MAX_SHORT_STR:
                return None
            if text:
                try:
                    value.encode("utf-8")  # a lone surrogate: decode_client refuses it
                except UnicodeError:
                    return None
        else:
            return None
    return InputFrame(seq, values, rid)


def _validation_error(exc: ValidationError, rid: int | None) -> ProtocolError:
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return ProtocolError(ErrorCode.UNKNOWN_TYPE, "unknown or missing message type", "type", rid)
    loc = [str(part) for part in first["loc"]]
    field = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else None)
    return ProtocolError(ErrorCode.INVALID, f"{field}: {first['msg']}", field, rid)


def encode(codec: Codec, message: ServerModel) -> bytes | str:
    """Encode one server message for one codec (a `Delta` with key names: compact on msgpack)."""
    plain = message.model_dump(mode="json", exclude_none=False)
    return dumps_plain(codec, plain, getattr(message, "_names", ()))


def dumps_plain(codec: Codec, plain: dict[str, Any], names: tuple[str, ...] = ()) -> bytes | str:
    """Encode a plain server message; a `delta` goes in its compact form on msgpack when `names`
    (the match's key names) are given (protocol.frames)."""
    if names and codec.binary and plain["type"] == "delta":
        return pack_delta(plain, names)
    return codec.dumps(plain)


def encode_all(message: ServerModel | dict[str, Any], names: tuple[str, ...] = ()) -> dict[str, bytes | str]:
    """Encode a message once per codec: what the engine puts in a broadcast.

    A plain dict must be what the model's `model_dump(mode="json")` gives (the tick frames'
    fast path: engine_bridge.frame_plain); `names` as for `dumps_plain`."""
    plain = message if isinstance(message, dict) else message.model_dump(mode="json")
    return {name: dumps_plain(codec, plain, names) for name, codec in CODECS.items()}


class LazyEncodings(dict[str, bytes | str]):
    """A message's encodings by subprotocol, each made when first asked for, then kept.

    For broadcasts that stay in the process (the in-memory channel layer): a codec nobody in
    the audience speaks is never encoded. Never give one to a layer that serializes messages
    (only the encodings made so far would travel). Shared as is, never copied: it does not change
    once made, apart from filling itself in.
    """

    __slots__ = ("names", "plain")

    def __init__(self, message: ServerModel | dict[str, Any], names: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.plain = message if isinstance(message, dict) else message.model_dump(mode="json")
        self.names = names

    def __missing__(self, name: str) -> bytes | str:
        value = self[name] = dumps_plain(CODECS[name], self.plain, self.names)
        return value

    def __copy__(self) -> LazyEncodings:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyEncodings:
        return self
