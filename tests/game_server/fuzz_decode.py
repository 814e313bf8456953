"""atheris harness for the frame decoder: every input is a valid message or a ProtocolError.

Run by tests/game_server/test_fuzz.py for a bounded number of runs, or by hand:
`python -m tests.game_server.fuzz_decode -max_total_time=600`.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from game_server import protocol as p

MSGPACK = p.CODECS[p.MSGPACK]
JSON = p.CODECS[p.JSON]


def one_input(data: bytes) -> None:
    """Decode the bytes as a msgpack frame and as a JSON frame."""
    for codec, frame in ((MSGPACK, data), (JSON, data.decode("utf-8", "surrogateescape"))):
        try:
            p.decode_client(codec, frame)
        except p.ProtocolError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
