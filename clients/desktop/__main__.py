"""`python -m clients.desktop [--server URL] [--username NAME]`: open the desktop client."""

from __future__ import annotations

import argparse
import asyncio

from clients.desktop.app import main


def cli() -> None:
    """Parse the command line and run the window."""
    parser = argparse.ArgumentParser(prog="python -m clients.desktop", description="The Skirmish desktop client.")
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="the server's http(s) URL")
    parser.add_argument("--username", default="", help="pre-fill the sign-in form")
    args = parser.parse_args()
    asyncio.run(main(args.server, args.username))


if __name__ == "__main__":
    cli()
