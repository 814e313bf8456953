"""The wire protocol: messages, codecs, error and close codes. Imports no Django.

Everything a client or server needs to speak Skirmish is importable from here.
"""

from game_server.protocol.codecs import (
    CODECS,
    JSON,
    MAX_FRAME_BYTES,
    MSGPACK,
    Codec,
    FrameTooLarge,
    InputFrame,
    LazyEncodings,
    ProtocolError,
    choose_codec,
    decode_client,
    decode_input,
    dumps_plain,
    encode,
    encode_all,
)
from game_server.protocol.codes import CloseCode, ErrorCode
from game_server.protocol.frames import FrameReader, pack_delta, unpack_delta
from game_server.protocol.messages import *  # noqa: F403
from game_server.protocol.messages import ClientMessage, ServerMessage

__all__ = [
    "CODECS",
    "JSON",
    "MAX_FRAME_BYTES",
    "MSGPACK",
    "ClientMessage",
    "CloseCode",
    "Codec",
    "FrameReader",
    "ErrorCode",
    "FrameTooLarge",
    "InputFrame",
    "LazyEncodings",
    "ProtocolError",
    "ServerMessage",
    "choose_codec",
    "decode_client",
    "decode_input",
    "dumps_plain",
    "encode",
    "encode_all",
    "pack_delta",
    "unpack_delta",
]
