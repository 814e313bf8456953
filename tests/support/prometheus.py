"""Reading a value out of /metrics' text (Prometheus' exposition format)."""

from __future__ import annotations


def scraped(body: str, name: str) -> float:
    """The value of the sample `name` (with its labels, if any: 'x_total{code="4009"}')."""
    return float(next(line.split()[1] for line in body.splitlines() if line.startswith(name + " ")))
