"""`python -m engine bench [...]`: the engine's command line (one command so far)."""

from __future__ import annotations

import sys

from engine import bench

COMMANDS = {"bench": bench.main}


def main(argv: list[str]) -> None:
    """Dispatch to a command."""
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m engine {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        raise SystemExit(2)
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
