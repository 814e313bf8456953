"""The only reader of os.environ: typed getters with defaults."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """A string variable."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {raw!r}")


def env_int(name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    """An integer variable, optionally bounded."""
    raw = os.environ.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, not {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
