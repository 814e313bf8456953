"""A durable outbox for match results, so a database outage never loses one.

A finished match's result is written here (one JSON file per match, written atomically) before
the database is tried; the file goes away only once the database has it on disk (on SQLite's
WAL, the save is run with every commit synced: `game_server.db.on_disk`). A worker that starts
finds what an earlier process left and saves it. `lobby.services.match_result_record` is
idempotent (a conditional UPDATE on the running match), so a result saved twice counts once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ResultOutbox:
    """Pending results as files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, result: dict[str, Any]) -> Path:
        """Store a result durably (fsync'd, then renamed into place)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{result['match_id']}.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def remove(self, match_id: str) -> None:
        """The database has the result: forget it."""
        (self.directory / f"{match_id}.json").unlink(missing_ok=True)

    def pending(self) -> list[dict[str, Any]]:
        """Results not yet in the database, oldest first."""
        if not self.directory.is_dir():
            return []
        files = sorted(self.directory.glob("*.json"), key=lambda f: f.stat().st_mtime)
        results = []
        for path in files:
            try:
                results.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:
                path.rename(path.with_suffix(".corrupt"))  # keep it for a human, stop retrying it
        return results


def as_record_kwargs(result: dict[str, Any]) -> dict[str, Any]:
    """JSON turned seat keys into strings; match_result_record wants ints."""
    return {
        **{k: v for k, v in result.items() if k != "lobby_id"},
        "placements": {int(k): v for k, v in result["placements"].items()},
        "scores": {int(k): v for k, v in result["scores"].items()},
    }
