"""The lobby's JSON API (read-only): the lobby list, match history, one match, leaderboards.

Views parse and check query parameters, call one selector and return JSON. Errors use the same
shape and codes as the rest of the HTTP API: {"error": {"code", "message"}}.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from engine.games import GAMES
from lobby import errors, selectors

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class BadQuery(Exception):
    """A query parameter is missing or out of range."""


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadQuery(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _paging(request: HttpRequest) -> dict[str, int]:
    return {
        "page": _int_param(request, "page", 1, 1, 1_000_000),
        "page_size": _int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    }


def _game_param(request: HttpRequest) -> str | None:
    game = request.GET.get("game") or None
    if game is not None and game not in GAMES:
        raise BadQuery(f"no game called {game!r}")
    return game


def _viewer_id(request: HttpRequest) -> int | None:
    user: Any = request.user
    return user.pk if user.is_authenticated else None


@require_GET
def lobby_list(request: HttpRequest) -> JsonResponse:
    """GET /api/lobbies?game=&free=1&page=&page_size= : public lobbies, newest first."""
    try:
        free = request.GET.get("free", "0")
        if free not in ("0", "1", "true", "false"):
            raise BadQuery("free must be 1 or 0")
        body = selectors.lobby_list_page(game=_game_param(request), free_only=free in ("1", "true"), **_paging(request))
    except BadQuery as exc:
        return _error(400, errors.INVALID, str(exc))
    return JsonResponse(body)


@require_GET
def player_matches(request: HttpRequest, user_id: int) -> JsonResponse:
    """GET /api/players/<id>/matches?game=&page=&page_size= : a player's matches, newest first."""
    try:
        body = selectors.match_history_for_user(
            user_id=user_id, viewer_id=_viewer_id(request), game=_game_param(request), **_paging(request)
        )
    except BadQuery as exc:
        return _error(400, errors.INVALID, str(exc))
    return JsonResponse(body)


@require_GET
def match_detail(request: HttpRequest, match_id: str) -> JsonResponse:
    """GET /api/matches/<uuid> : one match, its seats, placements, scores and rating changes."""
    body = selectors.match_detail(match_id=match_id, viewer_id=_viewer_id(request))
    if body is None:
        return _error(404, errors.MATCH_NOT_FOUND, "no such match")
    return JsonResponse(body)


@require_GET
def live_matches(request: HttpRequest) -> JsonResponse:
    """GET /api/matches/live?game= : public matches in progress with players, ratings, elapsed time, spectators."""
    try:
        body = selectors.live_matches(game=_game_param(request))
    except BadQuery as exc:
        return _error(400, errors.INVALID, str(exc))
    return JsonResponse({"results": body})


@require_GET
def leaderboard(request: HttpRequest, game: str) -> JsonResponse:
    """GET /api/leaderboards/<game>?page=&page_size= : ratings, best first."""
    if game not in GAMES:
        return _error(404, errors.UNKNOWN_GAME, f"no game called {game!r}")
    try:
        body = selectors.leaderboard(game=game, **_paging(request))
    except BadQuery as exc:
        return _error(400, errors.INVALID, str(exc))
    return JsonResponse({"game": game, **body})
