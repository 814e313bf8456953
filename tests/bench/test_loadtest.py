"""The load generator: frame parsing across TCP reads, and a whole run against the floor server."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import msgpack
import pytest

from clients.loadtest.runner import Config, Pacer, collector_paused, run
from clients.loadtest.targets import Client, SkirmishTarget, _peek_tick
from clients.loadtest.wire import WsClient
from game_server import protocol as p

ROOT = Path(__file__).resolve().parents[2]


async def test_frames_split_across_reads_arrive_whole_and_pings_are_answered() -> None:
    got: list[bytes] = []
    client = WsClient(lambda buf, start, end, op, now: got.append(bytes(buf[start:end])))
    client.request("127.0.0.1", 1, "/", {})
    written: list[bytes] = []

    class Transport:
        def write(self, data: bytes) -> None:
            written.append(data)

        def is_closing(self) -> bool:
            return False

    client.transport = Transport()  # type: ignore[assignment]
    from websockets.utils import accept_key

    client.data_received(f"HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: {accept_key(client._key)}\r\n\r\n".encode())
    big = b"x" * 300
    stream = b"\x82\x03abc" + b"\x89\x02hi" + b"\x82\x7e\x01\x2c" + big + b"\x02\x02de" + b"\x80\x01f"
    for i in range(0, len(stream), 7):
        client.data_received(stream[i : i + 7])
    assert got == [b"abc", big, b"def"]
    assert written == [b"\x8a\x82\x00\x00\x00\x00hi"]  # the pong, masked with the zero key
    assert client.bytes_in == len(stream)


def test_the_tick_is_read_in_place_from_skirmish_frames() -> None:
    for tick in (5, 200, 70_000, 2**31):
        body = {"sub": {"acks": {"add": {"0": 1}}}}
        delta = {"type": "delta", "tick": tick, "base": tick - 1, "t": 1.5, "delta": body}
        assert _peek_tick(b"xx" + msgpack.packb(delta), 2) == tick
        for base in (tick - 1, tick - 5):  # the compact form: [tick, t, node] or [tick, t, node, base]
            compact = p.pack_delta({**delta, "base": base}, ("acks",))
            assert _peek_tick(b"xx" + compact, 2) == tick
    assert _peek_tick(msgpack.packb({"type": "ok", "rid": 1}), 0) is None


def test_a_compact_delta_before_the_first_snapshot_still_brings_the_client_live() -> None:
    # Over Redis, a match's frames can reach a socket before the snapshot that answers its join.
    target = SkirmishTarget("http://127.0.0.1:1", 20, 60, {}, "lt")
    client = Client(index=0, seat=0, sampled=True)
    on_frame = target.handler(client)
    delta = {"type": "delta", "tick": 7, "base": 6, "t": 1732470004100.5, "delta": {"sub": {"acks": {"add": {"0": 1}}}}}
    raw = p.pack_delta(delta, ("acks", "game"))
    on_frame(raw, 0, len(raw), 2, 0.0)
    assert client.live and client.undecoded == 0
    assert client.inbox == [{"type": "delta", "tick": 7, "t": 1732470004100.5}]


@contextmanager
def floor_server(module: str) -> Iterator[int]:
    """A floor server (a module of bench.peers) on a free port, at 20 Hz, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", f"bench.peers.{module}", str(port), "20"], cwd=ROOT)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["websockets_floor", "asyncio_floor"])
def floor_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with floor_server(request.param) as port:
        yield f"http://127.0.0.1:{port}"


def test_the_asyncio_floor_answers_pings_and_closes_on_what_it_does_not_speak() -> None:
    def upgrade(port: int, key: bool = True) -> tuple[socket.socket, bytes]:
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        header = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" if key else ""
        conn.sendall(f"GET /?match=9&seat=-1 HTTP/1.1\r\nHost: x\r\n{header}\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        return conn, reply

    def masked(opcode: int, payload: bytes, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + body

    def read_until_closed(conn: socket.socket) -> bytes:
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
        return got

    with floor_server("asyncio_floor") as port:
        conn, reply = upgrade(port, key=False)
        with conn:
            assert reply.startswith(b"HTTP/1.1 400") and read_until_closed(conn) == b""

        conn, reply = upgrade(port)
        with conn:
            assert reply.startswith(b"HTTP/1.1 101") and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in reply  # (RFC 6455's)
            conn.sendall(masked(0x9, b"hi"))
            got, deadline = b"", time.time() + 5
            while b"\x8a\x02hi" not in got and time.time() < deadline:  # the pong, among the match's ticks
                got += conn.recv(65536)
            assert b"\x8a\x02hi" in got
            conn.sendall(b"\x82\xfe\x00\xc8" + b"\x00" * 204)  # a 16-bit length: not the workload's
            read_until_closed(conn)  # (returns once the server closed the socket)

        conn, _ = upgrade(port)
        with conn:
            conn.sendall(masked(0x8, b"\x03\xe8"))
            assert read_until_closed(conn).endswith(b"\x88\x02\x03\xe8")  # the close echoed, then closed


def floor_config(url: str, *, matches: int, duration: float, warmup: float, procs: int, setup_timeout: float) -> Config:
    """A run of the `websockets` target: 4 players and 2 spectators per match at 20 Hz."""
    return Config(
        target="websockets",
        url=url,
        matches=matches,
        players=4,
        spectators=2,
        rate=20,
        duration=duration,
        warmup=warmup,
        ramp=200,
        procs=procs,
        sample=0.5,
        tokens=None,
        prefix="t",
        setup_timeout=setup_timeout,
    )


def test_a_run_against_the_floor_counts_every_frame(floor_url: str, tmp_path: Path) -> None:
    cfg = floor_config(floor_url, matches=3, duration=1.5, warmup=0.5, procs=2, setup_timeout=10)
    summary = run(cfg, str(tmp_path / "run.json"), quiet=True)
    assert summary["clients_measured"] == 18 and not summary["connect_failures"]
    assert summary["frames_expected"] >= 18 * 25  # about 30 ticks in 1.5 s at 20 Hz, per client
    assert summary["loss"] < 0.01
    assert summary["latency_ms"]["samples"] > 0 and summary["latency_ms"]["p50"] < 1000
    assert summary["bytes_per_client_per_s"] > 20 * 50  # 20 frames of ~100 bytes per second
    assert summary["loadgen_collections"] == 0  # (with it left on, young collections ran here)
    assert (tmp_path / "run.json").exists()


def test_the_collector_is_paused_inside_the_block_and_restored_after_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused() as collections:
        assert not gc.isenabled()
        for _ in range(10 * gc.get_threshold()[0]):  # cycles that would start young collections
            node: list[object] = []
            node.append(node)
        assert collections == {}
        gc.collect(0)  # one asked for explicitly still runs, and is counted
        assert collections == {0: 1}
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()


def test_a_reset_handshake_is_a_connect_failure_not_a_crashed_process(tmp_path: Path) -> None:
    import struct
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]

    def reset_every_connection() -> None:  # read the handshake, then RST (SO_LINGER 0)
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=reset_every_connection, daemon=True).start()
    cfg = floor_config(f"http://127.0.0.1:{port}", matches=2, duration=0.5, warmup=0.2, procs=1, setup_timeout=5)
    try:
        summary = run(cfg, str(tmp_path / "run.json"), quiet=True)
    finally:
        listener.close()
    assert summary["crashed"] == []
    assert len(summary["connect_failures"]) == 2
    assert all("HandshakeFailed" in f for f in summary["connect_failures"])


async def test_a_match_takes_its_connect_slots_together_and_in_turn() -> None:
    pacer = Pacer(100.0)  # 10 ms apart
    first, second = pacer.reserve(3), pacer.reserve(3)
    assert list(first.times) == pytest.approx([first.start + i * 0.01 for i in range(3)])
    assert second.start == pytest.approx(first.start + 0.03)
    for _ in range(4):  # its three slots, then no wait at all
        await first()
    assert time.monotonic() >= first.start + 0.02 and not first.times


def test_a_matchs_setup_time_runs_from_its_own_first_connect(floor_url: str, tmp_path: Path) -> None:
    # 3 matches x 6 sockets at 6 connects a second: the last match's first socket connects 2 s
    # in, after the whole setup time of 1.5 s, and still each match is seated within it.
    cfg = replace(floor_config(floor_url, matches=3, duration=0.5, warmup=0.2, procs=1, setup_timeout=1.5), ramp=6)
    summary = run(cfg, str(tmp_path / "run.json"), quiet=True)
    assert summary["connect_failures"] == [] and summary["clients_measured"] == 18
