"""python -m clients.loadtest: drive M arena matches against a server and measure it.

Example: python -m clients.loadtest --matches 50 --rate 20 --duration 20 --warmup 5 --out run.json
"""

from __future__ import annotations

import argparse
import os
import secrets

from clients.loadtest.runner import Config, run


def parse(argv: list[str] | None = None) -> tuple[Config, str | None, bool]:
    """The run's config and output path from the command line."""
    ap = argparse.ArgumentParser(prog="python -m clients.loadtest", description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (http://host:port)")
    ap.add_argument("--target", default="skirmish", choices=["skirmish", "websockets", "colyseus"])
    ap.add_argument("--matches", type=int, default=10)
    ap.add_argument("--players", type=int, default=4)
    ap.add_argument("--spectators", type=int, default=2)
    ap.add_argument("--rate", type=int, default=20, help="inputs per player per second (the tick rate)")
    ap.add_argument("--duration", type=float, default=20.0, help="measurement window, seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds between seating and measuring")
    ap.add_argument("--ramp", type=float, default=50.0, help="connects per second (all processes)")
    ap.add_argument("--procs", type=int, default=1, help="load generator processes")
    ap.add_argument("--sample", type=float, default=0.1, help="share of clients that decode every frame")
    cache = os.path.join(os.path.expanduser("~"), ".cache", "skirmish", "loadtest-tokens.json")
    ap.add_argument("--tokens", default=cache, help="token cache file ('' to disable)")
    ap.add_argument("--prefix", default="lt", help="username prefix of the load-test accounts")
    ap.add_argument("--setup-timeout", type=float, default=60.0, help="seconds to seat a match, from its first connect")
    ap.add_argument("--out", help="write the run as JSON here")
    ap.add_argument("--quiet", action="store_true", help="no progress line, no summary (JSON only)")
    a = ap.parse_args(argv)
    if a.prefix == "random":
        a.prefix = "lt" + secrets.token_hex(3)
    cfg = Config(
        target=a.target,
        url=a.url,
        matches=a.matches,
        players=a.players,
        spectators=a.spectators,
        rate=a.rate,
        duration=a.duration,
        warmup=a.warmup,
        ramp=a.ramp,
        procs=max(1, min(a.procs, max(1, a.matches))),
        sample=a.sample,
        tokens=a.tokens or None,
        prefix=a.prefix,
        setup_timeout=a.setup_timeout,
    )
    return cfg, a.out, a.quiet


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    cfg, out, quiet = parse(argv)
    summary = run(cfg, out, quiet)
    return 0 if summary["clients_measured"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
