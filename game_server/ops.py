"""Operations endpoints: readiness, Prometheus metrics, and the staff match monitor."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from game_server import metrics
from game_server.auth import bearer_token
from game_server.db import db_call
from game_server.engine_bridge import match_channel
from lobby.models import Match
from lobby.selectors import match_players

STATS_TIMEOUT = 0.5


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def _layer_ok() -> bool:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "ping"})
    return (await asyncio.wait_for(layer.receive(channel), 2))["type"] == "ping"


async def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the channel layer answer, else 503 naming what failed."""
    checks: dict[str, str] = {}
    for name, probe in (("database", db_call(_database_ok)), ("channel_layer", _layer_ok)):
        try:
            checks[name] = "ok" if await probe() else "failed"
        except Exception as exc:  # any failure of a dependency means "not ready"
            checks[name] = f"failed: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def _may_read_metrics(request: HttpRequest) -> bool:
    token = settings.SKIRMISH_METRICS_TOKEN
    if token:
        given = bearer_token([(k.lower().encode(), v.encode("latin-1")) for k, v in request.headers.items()])
        if given and hmac.compare_digest(given, token):
            return True
    return bool(request.user.is_authenticated and request.user.is_staff)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; staff users or `Authorization: Bearer <METRICS_TOKEN>` only."""
    if not _may_read_metrics(request):
        return HttpResponseForbidden("staff or the metrics token only\n", content_type="text/plain")
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


def _running_matches() -> list[dict[str, Any]]:
    rows = Match.objects.filter(status=Match.Status.RUNNING).order_by("-started_at")[:200]
    return [
        {"id": str(m.pk), "game": m.game, "started_at": m.started_at, "players": match_players(match=m)} for m in rows
    ]


async def _live_stats(match_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Ask each match's owner (whichever process hosts it) for its live figures."""
    layer = get_channel_layer()
    reply = await layer.new_channel("monitor.")
    for match_id in match_ids:
        await layer.send(match_channel(match_id), {"type": "match.stats", "reply": reply})
    stats: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STATS_TIMEOUT
    while len(stats) < len(match_ids) and loop.time() < deadline:
        try:
            message = await asyncio.wait_for(layer.receive(reply), deadline - loop.time())
        except TimeoutError:
            break
        if message.get("stats"):
            stats[message["stats"]["match_id"]] = message["stats"]
    return stats


async def monitor(request: HttpRequest) -> HttpResponse:
    """Staff only: running matches with players, seats, tick rate, tick time and owner."""
    user = await sync_to_async(lambda: request.user if request.user.is_authenticated else None)()
    if user is None or not user.is_staff:
        return redirect(f"/admin/login/?next={request.path}")
    matches = await db_call(_running_matches)()
    stats = await _live_stats([m["id"] for m in matches])
    for m in matches:
        m["live"] = stats.get(m["id"])
    if request.headers.get("accept", "").startswith("application/json"):
        return JsonResponse({"matches": matches}, json_dumps_params={"default": str})
    return render(request, "skirmish/monitor.html", {"matches": matches})


@staff_member_required
@require_POST
def monitor_end(request: HttpRequest, match_id: uuid.UUID) -> HttpResponse:
    """Staff only: end a running match (no winner; no rating change)."""
    from asgiref.sync import async_to_sync

    async_to_sync(get_channel_layer().send)(
        match_channel(str(match_id)), {"type": "match.end", "reason": "ended_by_staff", "by": request.user.pk}
    )
    return redirect("monitor")
