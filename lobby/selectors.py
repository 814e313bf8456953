"""Selectors: read queries for lobbies and matches, returning models or plain data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, QuerySet

from lobby.models import Lobby, Match, MatchParticipant, Membership


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
    }


def lobby_summary(*, lobby: Lobby) -> dict[str, Any]:
    """What the public lobby list shows of a lobby (LobbySummary)."""
    players = getattr(lobby, "players", None)
    if players is None:
        players = lobby.memberships.count()
    return {
        "id": lobby.pk,
        "name": lobby.name,
        "game": lobby.game,
        "host": lobby.host.get_username(),
        "players": players,
        "max_players": lobby.max_players,
        "status": lobby.status,
    }


def lobby_list_open(
    *, game: str | None = None, free_only: bool = False, offset: int = 0, limit: int = 50
) -> list[Lobby]:
    """Public lobbies that are not closed, newest first, with a `players` count."""
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
    return list(query.order_by("-created_at", "-id")[offset : offset + limit])


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
