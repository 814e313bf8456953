"""python -m bench.sendcost: the kernel's CPU cost of one small websocket-sized send on loopback.

The floor under every server in docs/benchmarks.md: SOCKETS loopback TCP connections, a reader
process on core 1 draining them, and this process on core 0 sending a 60-byte message to each in
turn, ROUNDS times, 2 ms apart. Prints the CPU time of the sending process per send (user + system,
so it includes the receiver's TCP path, which loopback runs in the sender's syscall).
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import time


def _reader(port: int, sockets: int, expected: int) -> None:
    os.sched_setaffinity(0, {1})
    selector = selectors.DefaultSelector()
    for _ in range(sockets):
        conn = socket.create_connection(("127.0.0.1", port))
        conn.setblocking(False)
        selector.register(conn, selectors.EVENT_READ)
    got = 0
    while got < expected:
        for key, _ in selector.select(1):
            try:
                got += len(key.fileobj.recv(65536))  # type: ignore[union-attr]
            except BlockingIOError:
                pass
    os._exit(0)


def measure(sockets: int = 600, rounds: int = 200, size: int = 60, nodelay: bool = True) -> float:
    """CPU µs of this process per send."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(sockets)
    port = listener.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        _reader(port, sockets, sockets * rounds * size)
    os.sched_setaffinity(0, {0})
    conns = [listener.accept()[0] for _ in range(sockets)]
    for conn in conns:
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(nodelay))
    message = b"x" * size
    started = time.process_time()
    for _ in range(rounds):
        for conn in conns:
            conn.send(message)
        time.sleep(0.002)
    spent = time.process_time() - started
    os.waitpid(pid, 0)
    for conn in conns:
        conn.close()
    listener.close()
    return spent / (sockets * rounds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sendcost", description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--size", type=int, default=60)
    a = parser.parse_args()
    for run in range(3):
        us = measure(a.sockets, a.rounds, a.size)
        print(f"run {run + 1}: {us:.2f} µs of CPU per {a.size}-byte send (TCP_NODELAY, {a.sockets} sockets)")


if __name__ == "__main__":
    main()
