"""Start and stop a real daphne process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def terminate(proc: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    """SIGTERM a server process and wait for it; SIGKILL it if it takes longer than `grace`."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for the test database pytest-django created."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


class DaphneServer:
    """daphne -b 127.0.0.1 -p <free port> game_server.asgi:application, as a subprocess."""

    def __init__(
        self, *, database_url: str, log_path: Path, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.port = free_port()
        self.database_url = database_url
        self.log_path = log_path
        self.extra_env = env or {}
        self.extra_args = args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "settings",
            "DATABASE_URL": self.database_url,
            "DEBUG": "1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ENGINE_MODE": "inprocess",
            **self.extra_env,
        }
        env.pop("REDIS_URL", None) if "REDIS_URL" not in self.extra_env else None
        cmd = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--websocket-max-message-size",
            "65536",
            "--websocket-max-frame-size",
            "65536",
            *self.extra_args,
            "game_server.asgi:application",
        ]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not come up: {self.log_path.read_text()}")

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")
