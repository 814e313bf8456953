"""Login throttling on django-axes: 5 failed sign-ins per account or 10 per address lock out for a while.

Both sign-in paths call `django.contrib.auth.authenticate(request, ...)`: the browser form
(`/accounts/signin/`, Django's LoginView) and the token endpoint (`POST /api/auth/token`). The
`AxesStandaloneBackend` refuses a locked-out client before any password is checked, and axes
records every failure. Axes compares one failure count with one limit; `LimitsHandler` turns
the two limits (per account, per address, both within the cool-off period) into that count.
While locked out, the browser gets a page and the API a 429 `auth/locked_out` error, both with
the time left (and a `Retry-After` header).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone


def _recent(request: HttpRequest) -> QuerySet[AccessAttempt]:
    return AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))


def _sources(request: HttpRequest, credentials: dict[str, Any] | None) -> tuple[QuerySet[AccessAttempt], ...]:
    """(this account's recent failures, this address's recent failures)."""
    username = get_client_username(request, credentials)
    recent = _recent(request)
    by_account = recent.filter(username=username) if username else recent.none()
    return by_account, recent.filter(ip_address=request.axes_ip_address)  # type: ignore[attr-defined]


def failure_counts(request: HttpRequest, credentials: dict[str, Any] | None = None) -> tuple[int, int]:
    """Failed sign-ins within the cool-off period: (for this account, from this address)."""
    by_account, by_address = _sources(request, credentials)
    count = [qs.aggregate(n=Sum("failures_since_start"))["n"] or 0 for qs in (by_account, by_address)]
    return count[0], count[1]


class LimitsHandler(AxesDatabaseHandler):
    """Axes' database handler with two limits: SKIRMISH_LOGIN_FAILURES_PER_ACCOUNT and ..._PER_ADDRESS."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """AXES_FAILURE_LIMIT once either limit is reached, else fewer."""
        by_account, by_address = failure_counts(request, credentials)
        limit = int(settings.AXES_FAILURE_LIMIT)
        if (
            by_account >= settings.SKIRMISH_LOGIN_FAILURES_PER_ACCOUNT
            or by_address >= settings.SKIRMISH_LOGIN_FAILURES_PER_ADDRESS
        ):
            return limit
        return min(max(by_account, by_address), limit - 1)


def retry_after(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
    """Whole seconds until the lockout that applies to this request ends (at least 1)."""
    by_account, by_address = _sources(request, credentials)
    counts = failure_counts(request, credentials)
    limits = (settings.SKIRMISH_LOGIN_FAILURES_PER_ACCOUNT, settings.SKIRMISH_LOGIN_FAILURES_PER_ADDRESS)
    latest: list[datetime] = []
    for qs, count, limit in zip((by_account, by_address), counts, limits, strict=True):
        last = qs.aggregate(last=Max("attempt_time"))["last"] if count >= limit else None
        if last is not None:
            latest.append(last)
    cool_off = get_cool_off(request)
    if not latest or cool_off is None:
        return 1
    left = (max(latest) + cool_off - timezone.now()).total_seconds()
    return max(1, math.ceil(left))


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a 429 with the time left, JSON for the API, a page for the browser."""
    if not isinstance(credentials, dict):
        credentials = getattr(request, "axes_credentials", None)
    seconds = retry_after(request, credentials)
    message = f"Too many failed sign-ins: try again in {_in_words(seconds)}."
    response: HttpResponse
    if request.path.startswith("/api/"):
        error = {"code": "auth/locked_out", "message": message, "retry_after": seconds}
        response = JsonResponse({"error": error}, status=429)
    else:
        response = render(request, "skirmish/locked_out.html", {"message": message, "retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response
