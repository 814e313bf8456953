"""Selectors: read queries for lobbies, the queue, matches and ratings, returning models or plain data."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from lobby.models import Lobby, Match, MatchParticipant, Membership, QueueEntry, Rating


def in_lobby(*, user: AbstractBaseUser) -> bool:
    """Whether the user is a member of a lobby."""
    return Membership.objects.filter(user=user).exists()


def queued(*, user: AbstractBaseUser) -> bool:
    """Whether the user is in the quick-play queue."""
    return QueueEntry.objects.filter(user=user).exists()


def seated(*, user: AbstractBaseUser) -> bool:
    """Whether the user holds a seat in a running match."""
    return MatchParticipant.objects.filter(user=user, match__status=Match.Status.RUNNING).exists()


def lobby_for_user(*, user: AbstractBaseUser) -> Lobby | None:
    """The lobby the user is in, if any."""
    membership = Membership.objects.select_related("lobby").filter(user=user).first()
    return membership.lobby if membership else None


def lobby_info(*, lobby: Lobby) -> dict[str, Any]:
    """A lobby's full state as members see it (LobbyInfo)."""
    members = lobby.memberships.select_related("user").order_by("joined_at", "id")
    match_id = lobby.current_match_id if lobby.status == Lobby.Status.IN_MATCH else None
    return {
        "id": lobby.pk,
        "name": lobby.name,
        "game": lobby.game,
        "host_id": lobby.host_id,
        "max_players": lobby.max_players,
        "private": lobby.is_private,
        "code": lobby.code,
        "options": lobby.options,
        "spectator_delay": lobby.spectator_delay,
        "status": lobby.status,
        "members": [
            {
                "user": {"id": m.user_id, "name": m.user.get_username()},
                "ready": m.ready,
                "host": m.user_id == lobby.host_id,
            }
            for m in members
        ],
        "match_id": str(match_id) if match_id else None,
        "rematch": rematch_offer(lobby=lobby),
    }


def rematch_offer(*, lobby: Lobby) -> dict[str, Any] | None:
    """After a lobby's match ended: {"match_id", "players", "accepted"} (user ids still in the lobby), else None."""
    if lobby.status != Lobby.Status.OPEN or lobby.current_match_id is None:
        return None
    last = Match.objects.filter(pk=lobby.current_match_id).exclude(status=Match.Status.RUNNING).first()
    if last is None:
        return None
    played = set(last.participants.values_list("user_id", flat=True))
    members = [m for m in lobby.memberships.order_by("joined_at", "id") if m.user_id in played]
    if not members:
        return None
    return {
        "match_id": str(last.pk),
        "players": [m.user_id for m in members],
        "accepted": [m.user_id for m in members if m.ready],
    }


def lobby_summary(*, lobby: Lobby, host_name: str | None = None) -> dict[str, Any]:
    """What the public lobby list shows of a lobby (LobbySummary); `host_name` saves reading the host."""
    players = getattr(lobby, "players", None)
    if players is None:
        players = lobby.memberships.count()
    return {
        "id": lobby.pk,
        "name": lobby.name,
        "game": lobby.game,
        "host": host_name if host_name is not None else lobby.host.get_username(),
        "players": players,
        "max_players": lobby.max_players,
        "status": lobby.status,
    }


def _open_lobbies(*, game: str | None, free_only: bool) -> QuerySet[Lobby]:
    query: QuerySet[Lobby] = (
        Lobby.objects.filter(is_private=False)
        .exclude(status=Lobby.Status.CLOSED)
        .select_related("host")
        .annotate(players=Count("memberships"))
    )
    if game:
        query = query.filter(game=game)
    if free_only:
        query = query.filter(status=Lobby.Status.OPEN, players__lt=F("max_players"))
    return query.order_by("-created_at", "-id")


def lobby_list_open(
    *, game: str | None = None, free_only: bool = False, offset: int = 0, limit: int = 50
) -> list[Lobby]:
    """Public lobbies that are not closed, newest first, with a `players` count."""
    return list(_open_lobbies(game=game, free_only=free_only)[offset : offset + limit])


def _page(query: QuerySet[Any], *, page: int, page_size: int) -> tuple[list[Any], dict[str, int]]:
    """One page of a query (1-based), and {"page", "page_size", "count", "pages"}."""
    count = query.count()
    start = (page - 1) * page_size
    meta = {"page": page, "page_size": page_size, "count": count, "pages": max(1, math.ceil(count / page_size))}
    return list(query[start : start + page_size]), meta


def lobby_list_page(
    *, game: str | None = None, free_only: bool = False, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    """A page of the public lobby list: {"results": [LobbySummary], "page", "page_size", "count", "pages"}."""
    lobbies, meta = _page(_open_lobbies(game=game, free_only=free_only), page=page, page_size=page_size)
    return {"results": [lobby_summary(lobby=lobby) for lobby in lobbies], **meta}


def queue_entry_for_user(*, user: AbstractBaseUser) -> QueueEntry | None:
    """The user's quick-play ticket, if queued."""
    return QueueEntry.objects.filter(user=user).first()


def _visible_matches(*, viewer_id: int | None) -> QuerySet[Match]:
    """Matches a viewer may see: every public one, and private ones they played in."""
    query = Match.objects.all()
    if viewer_id is None:
        return query.filter(is_private=False)
    return query.filter(Q(is_private=False) | Q(participants__user_id=viewer_id)).distinct()


def _participant_row(p: MatchParticipant) -> dict[str, Any]:
    change = p.rating_change
    return {
        "seat": p.seat,
        "user": {"id": p.user_id, "name": p.user.get_username()},
        "placement": p.placement,
        "score": p.score,
        "winner": p.is_winner,
        "rating_before": p.rating_before,
        "rating_after": p.rating_after,
        "rating_change": change,
    }


def _match_row(match: Match) -> dict[str, Any]:
    return {
        "id": str(match.pk),
        "game": match.game,
        "mode": match.mode,
        "status": match.status,
        "reason": match.reason,
        "lobby_id": match.lobby_id,
        "started_at": match.started_at.isoformat(),
        "ended_at": match.ended_at.isoformat() if match.ended_at else None,
        "duration_seconds": match.duration_seconds,
        "ticks": match.ticks,
        "participants": [_participant_row(p) for p in match.participants.all()],
    }


def match_history_for_user(
    *, user_id: int, viewer_id: int | None = None, game: str | None = None, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    """A player's matches, newest first, as the viewer may see them: {"results": [match], page meta}."""
    query = (
        _visible_matches(viewer_id=viewer_id)
        .filter(participants__user_id=user_id)
        .prefetch_related("participants__user")
        .order_by("-started_at", "-id")
    )
    if game:
        query = query.filter(game=game)
    matches, meta = _page(query, page=page, page_size=page_size)
    return {"results": [_match_row(m) for m in matches], **meta}


def match_detail(*, match_id: str, viewer_id: int | None = None) -> dict[str, Any] | None:
    """One match with its participants and rating changes; None if missing or not visible."""
    try:
        uuid.UUID(str(match_id))
    except ValueError:
        return None
    match = _visible_matches(viewer_id=viewer_id).filter(pk=match_id).prefetch_related("participants__user").first()
    if match is None:
        return None
    return {**_match_row(match), "seed": match.seed, "tick_rate": match.tick_rate, "options": match.options}


def leaderboard(*, game: str, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """A game's ratings, best first: {"results": [{"rank", "user", "rating", "mu", "sigma", ...}], page meta}."""
    query = Rating.objects.filter(game=game).select_related("user").order_by("-rating", "user_id")
    rows, meta = _page(query, page=page, page_size=page_size)
    first = (page - 1) * page_size + 1
    return {
        "results": [
            {
                "rank": first + i,
                "user": {"id": r.user_id, "name": r.user.get_username()},
                "rating": r.rating,
                "mu": r.mu,
                "sigma": r.sigma,
                "matches": r.matches,
                "wins": r.wins,
            }
            for i, r in enumerate(rows)
        ],
        **meta,
    }


def seat_for_user(*, user: AbstractBaseUser) -> MatchParticipant | None:
    """The user's seat in a running match, if any."""
    return (
        MatchParticipant.objects.select_related("match").filter(user=user, match__status=Match.Status.RUNNING).first()
    )


def match_players(*, match: Match) -> list[dict[str, Any]]:
    """The seats of a match: [{"seat", "user": {"id", "name"}}]."""
    return [
        {"seat": p.seat, "user": {"id": p.user_id, "name": p.user.get_username()}}
        for p in match.participants.select_related("user").order_by("seat")
    ]


def _live_matches(*, game: str | None = None) -> QuerySet[Match]:
    query = Match.objects.filter(status=Match.Status.RUNNING, is_private=False).prefetch_related("participants__user")
    if game:
        query = query.filter(game=game)
    return query.order_by("-started_at", "-id")


def live_match_rows(matches: list[Match]) -> list[dict[str, Any]]:
    """Live-list rows (LiveMatch) of running matches: players with their ratings, elapsed time, spectators."""
    user_ids = {p.user_id for m in matches for p in m.participants.all()}
    games = {m.game for m in matches}
    ratings = {
        (r.user_id, r.game): r.rating
        for r in Rating.objects.filter(user_id__in=user_ids, game__in=games).only("user_id", "game", "rating")
    }
    now = timezone.now()
    return [
        {
            "match_id": str(m.pk),
            "game": m.game,
            "mode": m.mode,
            "players": [
                {
                    "seat": p.seat,
                    "user": {"id": p.user_id, "name": p.user.get_username()},
                    "rating": ratings.get((p.user_id, m.game)),
                }
                for p in m.participants.all()
            ],
            "started_at": m.started_at.timestamp() * 1000,
            "elapsed_seconds": round(max(0.0, (now - m.started_at).total_seconds()), 1),
            "spectators": m.spectators,
            "spectator_delay": m.spectator_delay,
        }
        for m in matches
    ]


def live_matches(*, game: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The public matches in progress, newest first, as live-list rows."""
    return live_match_rows(list(_live_matches(game=game)[:limit]))


def match_is_public(*, match_id: str) -> bool:
    """Whether a match exists and is public (one small query, whatever its state)."""
    return Match.objects.filter(pk=match_id, is_private=False).exists()


def live_match(*, match_id: str) -> dict[str, Any] | None:
    """One match's live-list row; None when it is private, finished or missing."""
    match = _live_matches().filter(pk=match_id).first()
    return live_match_rows([match])[0] if match else None


def replay_source(*, match_id: str, viewer_id: int | None) -> dict[str, Any] | None:
    """What a replay needs of a finished match the viewer may see; None if there is none."""
    try:
        uuid.UUID(str(match_id))
    except ValueError:
        return None
    match = (
        _visible_matches(viewer_id=viewer_id)
        .filter(pk=match_id, status__in=[Match.Status.FINISHED, Match.Status.ABORTED])
        .exclude(final_hash="")
        .prefetch_related("participants__user")
        .first()
    )
    if match is None:
        return None
    participants = list(match.participants.all())
    return {
        "match_id": str(match.pk),
        "game": match.game,
        "options": match.options,
        "seed": match.seed,
        "tick_rate": match.tick_rate,
        "ticks": match.ticks,
        "input_log": match.input_log,
        "final_hash": match.final_hash,
        "players": [{"seat": p.seat, "user": {"id": p.user_id, "name": p.user.get_username()}} for p in participants],
        "outcome": {
            "placements": {str(p.seat): p.placement for p in participants if p.placement is not None},
            "scores": {str(p.seat): p.score for p in participants if p.score is not None},
            "reason": match.reason,
            "winners": sorted(p.seat for p in participants if p.placement == 1),
        },
    }


def queued_games() -> list[str]:
    """The games someone is waiting for in quick play."""
    return sorted(set(QueueEntry.objects.values_list("game", flat=True).distinct()))
