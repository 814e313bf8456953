"""`python -m game_server.protocol schema|docs [FILE]`: export the JSON Schema or docs/protocol.md."""

from __future__ import annotations

import json
import sys

from pydantic import TypeAdapter

from game_server.protocol.messages import ClientMessage, ServerMessage


def schema() -> dict[str, object]:
    """One JSON Schema document with both directions."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Skirmish wire protocol v1",
        "client_to_server": TypeAdapter(ClientMessage).json_schema(),
        "server_to_client": TypeAdapter(ServerMessage).json_schema(mode="serialization"),
    }


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("schema", "docs"):
        print("usage: python -m game_server.protocol schema|docs [FILE]", file=sys.stderr)
        return 2
    if argv[0] == "docs":
        from game_server.protocol.docs import render

        text = render().rstrip("\n")
    else:
        text = json.dumps(schema(), indent=2, sort_keys=True)
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"wrote {argv[1]}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
