"""One JSON object per log line (LOG_FORMAT=json), with match and user ids when given.

Pass context with `logger.info("...", extra={"match_id": ..., "user_id": ...})`. Tokens are
never logged: the Authorization header is not read into any message, and a token-looking
string (`sk_...`) that reaches a message is masked here as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

TOKEN = re.compile(r"sk_[A-Za-z0-9_\-]{8,}")
CONTEXT_KEYS = ("match_id", "user_id", "lobby_id", "seat", "code")


def redact(text: str) -> str:
    """Mask anything shaped like a Skirmish API token."""
    return TOKEN.sub("sk_***", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class RedactingFormatter(logging.Formatter):
    """The plain development format, with tokens masked too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
