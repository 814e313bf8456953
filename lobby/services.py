"""Services: every change to lobbies and matches, each in one transaction.

Consumers and views call these and nothing else to write. Each service either does all it says
or raises LobbyError with a stable code and changes nothing. Concurrency: the lobby row is
locked (`select_for_update`) before seats are counted or a match is started, and a user's
single lobby is enforced by a unique column, so races end in exactly one winner on PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from engine.games import GAMES
from lobby.errors import LobbyError
from lobby.models import Lobby, Match, MatchParticipant, Membership

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """What the engine needs to start a match."""

    match_id: str
    lobby_id: int | None
    game: str
    options: dict[str, Any]
    seed: int
    tick_rate: int
    players: list[dict[str, Any]]  # [{"seat", "user_id", "name"}]

    def as_message(self) -> dict[str, Any]:
        """The spec as plain data (for the channel layer)."""
        return {
            "match_id": self.match_id,
            "lobby_id": self.lobby_id,
            "game": self.game,
            "options": self.options,
            "seed": self.seed,
            "tick_rate": self.tick_rate,
            "players": self.players,
        }


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _ensure_free(user: AbstractBaseUser) -> None:
    if Membership.objects.filter(user=user).exists():
        raise LobbyError("lobby/already_in", "leave your current lobby first")
    if MatchParticipant.objects.filter(user=user, match__status=Match.Status.RUNNING).exists():
        raise LobbyError("lobby/already_in", "you are playing a match")


@transaction.atomic
def lobby_create(
    *,
    host: AbstractBaseUser,
    name: str,
    game: str,
    max_players: int | None = None,
    private: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Lobby:
    """Create a lobby with `host` as its first member."""
    rules = GAMES.get(game)
    if rules is None:
        raise LobbyError("lobby/unknown_game", f"no game called {game!r}")
    seats = rules.max_players if max_players is None else max_players
    if not rules.min_players <= seats <= rules.max_players:
        raise LobbyError("lobby/bad_options", f"{game} takes {rules.min_players} to {rules.max_players} players")
    try:
        clean = rules.options(dict(options or {}))
    except ValueError as exc:
        raise LobbyError("lobby/bad_options", str(exc)) from None
    _ensure_free(host)
    for _ in range(10):
        code = _new_code()
        if not Lobby.objects.filter(code=code).exists():
            break
    lobby = Lobby.objects.create(
        name=name, game=game, host=host, max_players=seats, is_private=private, code=code, options=clean
    )
    try:
        with transaction.atomic():
            Membership.objects.create(lobby=lobby, user=host)
    except IntegrityError:
        raise LobbyError("lobby/already_in", "leave your current lobby first") from None
    return lobby


@transaction.atomic
def lobby_join(*, user: AbstractBaseUser, lobby_id: int | None = None, code: str | None = None) -> Lobby:
    """Take a seat in a lobby, by id (public lobbies only) or by join code."""
    query = Lobby.objects.select_for_update()
    try:
        if code is not None:
            lobby = query.get(code=code.upper())
        elif lobby_id is not None:
            lobby = query.get(pk=lobby_id, is_private=False)
        else:
            raise LobbyError("protocol/invalid", "give lobby_id or code")
    except Lobby.DoesNotExist:
        raise LobbyError("lobby/not_found", "no such lobby") from None
    if lobby.status != Lobby.Status.OPEN:
        raise LobbyError("lobby/closed", "this lobby is not taking players")
    if lobby.memberships.filter(user=user).exists():
        return lobby
    _ensure_free(user)
    if lobby.memberships.count() >= lobby.max_players:
        raise LobbyError("lobby/full", "this lobby is full")
    try:
        with transaction.atomic():
            Membership.objects.create(lobby=lobby, user=user)
    except IntegrityError:
        raise LobbyError("lobby/already_in", "leave your current lobby first") from None
    lobby.save(update_fields=["updated_at"])
    return lobby


@transaction.atomic
def lobby_leave(*, user: AbstractBaseUser) -> Lobby:
    """Leave your lobby. The host role passes to the longest-seated member; empty closes it."""
    membership = Membership.objects.select_related("lobby").filter(user=user).first()
    if membership is None:
        raise LobbyError("lobby/not_member", "you are not in a lobby")
    lobby = Lobby.objects.select_for_update().get(pk=membership.lobby_id)
    membership.delete()
    successor = lobby.memberships.order_by("joined_at", "id").first()
    if successor is None:
        lobby.status = Lobby.Status.CLOSED
    elif lobby.host_id == user.pk:
        lobby.host_id = successor.user_id
    lobby.save()
    return lobby


@transaction.atomic
def lobby_ready_set(*, user: AbstractBaseUser, ready: bool) -> Lobby:
    """Mark the user ready or not in their lobby."""
    updated = Membership.objects.filter(user=user, lobby__status=Lobby.Status.OPEN).update(ready=ready)
    if not updated:
        raise LobbyError("lobby/not_member", "you are not in an open lobby")
    lobby = Lobby.objects.get(memberships__user=user)
    lobby.save(update_fields=["updated_at"])
    return lobby


@transaction.atomic
def lobby_start(*, user: AbstractBaseUser, tick_rate: int | None = None) -> MatchSpec:
    """Host only: start a match with the lobby's members, seated in the order they joined."""
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        raise LobbyError("lobby/not_member", "you are not in a lobby")
    lobby = Lobby.objects.select_for_update().get(pk=membership.lobby_id)
    if lobby.host_id != user.pk:
        raise LobbyError("lobby/not_host", "only the host can start the match")
    if lobby.status != Lobby.Status.OPEN:
        raise LobbyError("lobby/closed", "a match is already running")
    members = list(lobby.memberships.select_related("user").order_by("joined_at", "id"))
    rules = GAMES[lobby.game]
    if len(members) < rules.min_players:
        raise LobbyError("lobby/not_ready", f"{lobby.game} needs at least {rules.min_players} players")
    if not all(m.ready for m in members):
        raise LobbyError("lobby/not_ready", "every member must be ready")
    match = Match.objects.create(
        lobby=lobby,
        game=lobby.game,
        options=lobby.options,
        seed=secrets.randbits(62),
        tick_rate=tick_rate or rules.tick_rate,
        is_private=lobby.is_private,
    )
    MatchParticipant.objects.bulk_create(
        MatchParticipant(match=match, user=m.user, seat=seat) for seat, m in enumerate(members)
    )
    lobby.status = Lobby.Status.IN_MATCH
    lobby.current_match = match
    lobby.save()
    return MatchSpec(
        match_id=str(match.id),
        lobby_id=lobby.pk,
        game=match.game,
        options=match.options,
        seed=match.seed,
        tick_rate=match.tick_rate,
        players=[{"seat": seat, "user_id": m.user_id, "name": m.user.get_username()} for seat, m in enumerate(members)],
    )


@transaction.atomic
def match_result_record(
    *,
    match_id: str,
    placements: Mapping[int, int],
    scores: Mapping[int, float],
    reason: str,
    ticks: int,
    input_log: list[Any],
    final_hash: str,
) -> tuple[Match, bool]:
    """Save a finished match's result once. Returns (match, True) the first time only.

    Exactly once: the running -> finished transition is a conditional UPDATE, so a duplicate
    delivery (a retry, a second worker) finds no running row and changes nothing.
    """
    status = Match.Status.ABORTED if reason in ("error", "abandoned") else Match.Status.FINISHED
    updated = Match.objects.filter(pk=match_id, status=Match.Status.RUNNING).update(
        status=status,
        ended_at=timezone.now(),
        ticks=ticks,
        reason=reason,
        input_log=input_log,
        final_hash=final_hash,
    )
    match = Match.objects.get(pk=match_id)
    if not updated:
        return match, False
    best = min(placements.values()) if placements else None
    for participant in match.participants.all():
        participant.placement = placements.get(participant.seat)
        participant.score = scores.get(participant.seat)
        participant.is_winner = status == Match.Status.FINISHED and participant.placement == best
        participant.save(update_fields=["placement", "score", "is_winner"])
    Lobby.objects.filter(current_match=match).update(status=Lobby.Status.OPEN)
    Membership.objects.filter(lobby__current_match=match).update(ready=False)
    return match, True
