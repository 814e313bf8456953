"""Services: every change to lobbies, the queue, matches and ratings, each in one transaction.

Consumers and views call these and nothing else to write. Each service either does all it says
or raises LobbyError with a stable code and changes nothing.

Concurrency (PostgreSQL; SQLite serializes every write transaction anyway):
- a lobby's row is locked (`select_for_update`) before its seats are counted, its members
  changed or its match started, so the last seat and a double start each have one winner;
- a user's row is locked before checking that they are free (no lobby, queue or running match)
  and taking one of those, so one user cannot end up in two at once. Lock order: lobby, then user;
- the quick-play matcher locks the queue rows it groups with `skip_locked`, so matchers in
  several processes never seat the same player twice;
- a result is saved by a conditional UPDATE (running -> finished): a duplicate finds no running
  row and changes nothing, ratings included. Rating rows are locked in user-id order.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from openskill.models import PlackettLuce

from engine.games import GAMES
from lobby import errors, selectors
from lobby.errors import LobbyError
from lobby.matchmaking import DEFAULT_POLICY, Policy, Ticket, form_groups
from lobby.models import Lobby, Match, MatchParticipant, Membership, QueueEntry, Rating

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
RATING_MODEL = PlackettLuce()


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
    spectator_delay: int = 0  # seconds the spectators' frames are held back

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
            "spectator_delay": self.spectator_delay,
        }


# ---- helpers ------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _ensure_free(user: AbstractBaseUser) -> None:
    """Lock the user's row, then check they are in no lobby, queue or running match.

    (A database without row locks, SQLite, is not asked: its transactions begin IMMEDIATE here
    (settings), so each holds the write lock of the whole database from its start.)"""
    if connection.features.has_select_for_update:
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    if selectors.in_lobby(user=user):
        raise LobbyError(errors.ALREADY_IN_LOBBY, "leave your current lobby first")
    if selectors.queued(user=user):
        raise LobbyError(errors.ALREADY_QUEUED, "you are in the quick-play queue; leave it first")
    if selectors.seated(user=user):
        raise LobbyError(errors.ALREADY_IN_LOBBY, "you are playing a match")


def _locked_lobby_of(user: AbstractBaseUser) -> Lobby:
    """The user's lobby, its row locked; LobbyError if they are in none."""
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        raise LobbyError(errors.NOT_IN_LOBBY, "you are not in a lobby")
    return Lobby.objects.select_for_update().get(pk=membership.lobby_id)


def _hosted_lobby(host: AbstractBaseUser) -> Lobby:
    lobby = _locked_lobby_of(host)
    if lobby.host_id != host.pk:
        raise LobbyError(errors.NOT_HOST, "only the host can do this")
    return lobby


def _member_of(lobby: Lobby, user_id: int) -> Membership:
    membership = lobby.memberships.filter(user_id=user_id).first()
    if membership is None:
        raise LobbyError(errors.MEMBER_NOT_FOUND, "that player is not in your lobby")
    return membership


def _clean_options(game: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return GAMES[game].options(dict(options or {}))
    except ValueError as exc:
        raise LobbyError(errors.BAD_OPTIONS, str(exc)) from None


#: The longest spectator delay a lobby may ask for, in seconds.
MAX_SPECTATOR_DELAY = 30


def _check_delay(delay: int) -> int:
    if not 0 <= delay <= MAX_SPECTATOR_DELAY:
        raise LobbyError(errors.BAD_OPTIONS, f"spectator_delay must be 0 to {MAX_SPECTATOR_DELAY} seconds")
    return delay


def _check_seats(game: str, seats: int) -> None:
    rules = GAMES[game]
    if not rules.min_players <= seats <= rules.max_players:
        raise LobbyError(errors.BAD_OPTIONS, f"{game} takes {rules.min_players} to {rules.max_players} players")


def _match_create(
    *, game: str, options: dict[str, Any], users: Sequence[Any], lobby: Lobby | None, tick_rate: int | None = None
) -> MatchSpec:
    """Create a running match with `users` seated in order, and its spec for the engine."""
    rules = GAMES[game]
    match = Match.objects.create(
        lobby=lobby,
        mode=Match.Mode.LOBBY if lobby else Match.Mode.QUICKPLAY,
        game=game,
        options=options,
        seed=secrets.randbits(62),
        tick_rate=tick_rate or settings.SKIRMISH_TICK_RATE or rules.tick_rate,
        is_private=lobby.is_private if lobby else False,
        spectator_delay=lobby.spectator_delay if lobby else 0,
    )
    MatchParticipant.objects.bulk_create(
        MatchParticipant(match=match, user=user, seat=seat) for seat, user in enumerate(users)
    )
    return MatchSpec(
        match_id=str(match.id),
        lobby_id=lobby.pk if lobby else None,
        game=match.game,
        options=match.options,
        seed=match.seed,
        tick_rate=match.tick_rate,
        players=[{"seat": seat, "user_id": u.pk, "name": u.get_username()} for seat, u in enumerate(users)],
        spectator_delay=match.spectator_delay,
    )


# ---- lobbies --------------------------------------------------------------------------------


@transaction.atomic
def lobby_create(
    *,
    host: AbstractBaseUser,
    name: str,
    game: str,
    max_players: int | None = None,
    private: bool = False,
    options: Mapping[str, Any] | None = None,
    spectator_delay: int = 0,
) -> Lobby:
    """Create a lobby with `host` as its first member; spectators see its matches `spectator_delay` s late."""
    rules = GAMES.get(game)
    if rules is None:
        raise LobbyError(errors.UNKNOWN_GAME, f"no game called {game!r}")
    seats = rules.max_players if max_players is None else max_players
    _check_seats(game, seats)
    clean = _clean_options(game, options)
    _check_delay(spectator_delay)
    _ensure_free(host)
    for _ in range(10):
        code = _new_code()
        if not Lobby.objects.filter(code=code).exists():
            break
    lobby = Lobby.objects.create(
        name=name,
        game=game,
        host=host,
        max_players=seats,
        is_private=private,
        code=code,
        options=clean,
        spectator_delay=spectator_delay,
    )
    try:
        with transaction.atomic():
            Membership.objects.create(lobby=lobby, user=host)
    except IntegrityError:
        raise LobbyError(errors.ALREADY_IN_LOBBY, "leave your current lobby first") from None
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
            raise LobbyError(errors.INVALID, "give lobby_id or code")
    except Lobby.DoesNotExist:
        raise LobbyError(errors.LOBBY_NOT_FOUND, "no such lobby") from None
    if lobby.status != Lobby.Status.OPEN:
        raise LobbyError(errors.LOBBY_CLOSED, "this lobby is not taking players")
    if lobby.memberships.filter(user=user).exists():
        return lobby
    if user.pk in lobby.kicked:
        raise LobbyError(errors.KICKED, "the host removed you from this lobby")
    _ensure_free(user)
    if lobby.memberships.count() >= lobby.max_players:
        raise LobbyError(errors.LOBBY_FULL, "this lobby is full")
    try:
        with transaction.atomic():
            Membership.objects.create(lobby=lobby, user=user)
    except IntegrityError:
        raise LobbyError(errors.ALREADY_IN_LOBBY, "leave your current lobby first") from None
    lobby.save(update_fields=["updated_at"])
    return lobby


@transaction.atomic
def lobby_leave(*, user: AbstractBaseUser) -> Lobby:
    """Leave your lobby. The host role passes to the longest-seated member; empty closes it."""
    lobby = _locked_lobby_of(user)
    Membership.objects.filter(user=user, lobby=lobby).delete()
    successor = lobby.memberships.order_by("joined_at", "id").first()
    if successor is None:
        lobby.status = Lobby.Status.CLOSED
    elif lobby.host_id == user.pk:
        lobby.host_id = successor.user_id
    lobby.save()
    return lobby


@transaction.atomic
def lobby_kick(*, host: AbstractBaseUser, user_id: int) -> Lobby:
    """Host only: remove a member, who may not rejoin this lobby."""
    lobby = _hosted_lobby(host)
    if user_id == host.pk:
        raise LobbyError(errors.INVALID, "you cannot kick yourself; leave instead")
    _member_of(lobby, user_id).delete()
    if user_id not in lobby.kicked:
        lobby.kicked = [*lobby.kicked, user_id]
    lobby.save()
    return lobby


@transaction.atomic
def lobby_host_transfer(*, host: AbstractBaseUser, user_id: int) -> Lobby:
    """Host only: hand the host role to another member."""
    lobby = _hosted_lobby(host)
    lobby.host_id = _member_of(lobby, user_id).user_id
    lobby.save()
    return lobby


@transaction.atomic
def lobby_options_set(
    *,
    host: AbstractBaseUser,
    options: Mapping[str, Any] | None = None,
    max_players: int | None = None,
    spectator_delay: int | None = None,
) -> Lobby:
    """Host only, between matches: change the game options (seat count, spectator delay); readiness resets."""
    lobby = _hosted_lobby(host)
    if lobby.status != Lobby.Status.OPEN:
        raise LobbyError(errors.LOBBY_CLOSED, "options cannot change during a match")
    if options is not None:
        lobby.options = _clean_options(lobby.game, options)
    if max_players is not None:
        _check_seats(lobby.game, max_players)
        if max_players < lobby.memberships.count():
            raise LobbyError(errors.BAD_OPTIONS, "more players are seated than that")
        lobby.max_players = max_players
    if spectator_delay is not None:
        lobby.spectator_delay = _check_delay(spectator_delay)
    lobby.save()
    lobby.memberships.update(ready=False)
    return lobby


@transaction.atomic
def lobby_ready_set(*, user: AbstractBaseUser, ready: bool) -> Lobby:
    """Mark the user ready or not in their lobby."""
    lobby = Lobby.objects.select_for_update().filter(memberships__user=user, status=Lobby.Status.OPEN).first()
    if lobby is None:
        raise LobbyError(errors.NOT_IN_LOBBY, "you are not in an open lobby")
    lobby.memberships.filter(user=user).update(ready=ready)
    lobby.save(update_fields=["updated_at"])
    return lobby


@transaction.atomic
def lobby_start(*, user: AbstractBaseUser, tick_rate: int | None = None) -> MatchSpec:
    """Host only: start a match with the lobby's members, seated in the order they joined."""
    lobby = _hosted_lobby(user)
    if lobby.status != Lobby.Status.OPEN:
        raise LobbyError(errors.LOBBY_CLOSED, "a match is already running")
    members = list(lobby.memberships.select_related("user").order_by("joined_at", "id"))
    rules = GAMES[lobby.game]
    if len(members) < rules.min_players:
        raise LobbyError(errors.NOT_READY, f"{lobby.game} needs at least {rules.min_players} players")
    if not all(m.ready for m in members):
        raise LobbyError(errors.NOT_READY, "every member must be ready")
    spec = _match_create(
        game=lobby.game, options=lobby.options, users=[m.user for m in members], lobby=lobby, tick_rate=tick_rate
    )
    lobby.status = Lobby.Status.IN_MATCH
    lobby.current_match_id = spec.match_id
    lobby.save()
    return spec


@dataclass(frozen=True, slots=True)
class Rematch:
    """What answering a rematch offer did: the lobby, the new match if it started, whether you left."""

    lobby: Lobby
    spec: MatchSpec | None
    left: bool


@transaction.atomic
def lobby_rematch(*, user: AbstractBaseUser, accept: bool = True) -> Rematch:
    """After a match, its player accepts playing again (ready) or declines (leaves the lobby).

    Once every member is ready, a new match of the last match's game, options and tick rate starts
    in the same lobby (its players in their previous seat order, then newcomers); it is a new match
    with its own record and rating changes.
    """
    lobby = _locked_lobby_of(user)
    last = Match.objects.filter(pk=lobby.current_match_id).exclude(status=Match.Status.RUNNING).first()
    if lobby.status != Lobby.Status.OPEN or last is None:
        raise LobbyError(errors.NO_REMATCH, "there is no finished match to play again")
    seats = dict(last.participants.values_list("user_id", "seat"))
    if user.pk not in seats:
        raise LobbyError(errors.NO_REMATCH, "only the players of the last match can answer its rematch offer")
    if accept:
        Membership.objects.filter(lobby=lobby, user=user).update(ready=True)
    else:
        lobby = lobby_leave(user=user)
    members = list(lobby.memberships.select_related("user").order_by("joined_at", "id"))
    if (
        lobby.status != Lobby.Status.OPEN
        or len(members) < GAMES[last.game].min_players
        or not all(m.ready for m in members)
    ):
        return Rematch(lobby=lobby, spec=None, left=not accept)
    members.sort(key=lambda m: seats.get(m.user_id, len(seats)))  # stable: newcomers keep joining order
    spec = _match_create(
        game=last.game, options=last.options, users=[m.user for m in members], lobby=lobby, tick_rate=last.tick_rate
    )
    lobby.status = Lobby.Status.IN_MATCH
    lobby.current_match_id = spec.match_id
    lobby.save()
    return Rematch(lobby=lobby, spec=spec, left=not accept)


# ---- quick play -----------------------------------------------------------------------------


def _skill(user: AbstractBaseUser, game: str) -> float:
    rating = Rating.objects.filter(user=user, game=game).first()
    return rating.mu if rating else RATING_MODEL.mu


@transaction.atomic
def queue_join(*, user: AbstractBaseUser, game: str) -> QueueEntry:
    """Enter a game's quick-play queue (only when in no lobby, queue or running match)."""
    if game not in GAMES:
        raise LobbyError(errors.UNKNOWN_GAME, f"no game called {game!r}")
    _ensure_free(user)
    try:
        with transaction.atomic():
            return QueueEntry.objects.create(user=user, game=game, skill=_skill(user, game), enqueued_at=timezone.now())
    except IntegrityError:
        raise LobbyError(errors.ALREADY_QUEUED, "you are in the quick-play queue; leave it first") from None


@transaction.atomic
def queue_leave(*, user: AbstractBaseUser) -> str:
    """Leave the quick-play queue; returns the game you were queued for."""
    entry = QueueEntry.objects.select_for_update().filter(user=user).first()
    if entry is None:
        raise LobbyError(errors.NOT_QUEUED, "you are not in the quick-play queue")
    entry.delete()
    return entry.game


@transaction.atomic
def queue_match(*, game: str, now: datetime | None = None, policy: Policy = DEFAULT_POLICY) -> list[MatchSpec]:
    """Run the matcher once for `game`: group waiting players, create their matches, empty their tickets.

    Safe to run from several processes at once: each locks the tickets it reads and skips the
    tickets another matcher holds.
    """
    now = now or timezone.now()
    entries = list(
        QueueEntry.objects.select_for_update(skip_locked=True)
        .filter(game=game)
        .select_related("user")
        .order_by("enqueued_at", "id")
    )
    by_id = {e.pk: e for e in entries}
    tickets = [Ticket(id=e.pk, skill=e.skill, waited=(now - e.enqueued_at).total_seconds()) for e in entries]
    rules = GAMES[game]
    specs = []
    for group in form_groups(tickets=tickets, min_size=rules.min_players, max_size=rules.max_players, policy=policy):
        chosen = [by_id[t.id] for t in group]
        QueueEntry.objects.filter(pk__in=[e.pk for e in chosen]).delete()
        specs.append(_match_create(game=game, options=rules.options({}), users=[e.user for e in chosen], lobby=None))
    return specs


# ---- spectators ------------------------------------------------------------------------------


def match_spectators_set(*, match_id: str, count: int) -> bool:
    """Note how many watch a running match (the engine reports it); False if it is not running."""
    return bool(Match.objects.filter(pk=match_id, status=Match.Status.RUNNING).update(spectators=max(0, count)))


# ---- results and ratings ----------------------------------------------------------------------


def _ratings_apply(*, game: str, participants: Iterable[MatchParticipant]) -> None:
    """Rate a finished match (openskill Plackett-Luce) and note each player's rating change."""
    seated = sorted(participants, key=lambda p: p.user_id)
    user_ids = [p.user_id for p in seated]
    Rating.objects.bulk_create(
        [
            Rating(user_id=uid, game=game, mu=RATING_MODEL.mu, sigma=RATING_MODEL.sigma, rating=_ordinal(None))
            for uid in user_ids
        ],
        ignore_conflicts=True,
    )
    rows = {r.user_id: r for r in Rating.objects.select_for_update().filter(game=game, user_id__in=user_ids)}
    last = max((p.placement for p in seated if p.placement is not None), default=0) + 1
    ranks = [p.placement if p.placement is not None else last for p in seated]
    teams = [[RATING_MODEL.rating(mu=rows[uid].mu, sigma=rows[uid].sigma)] for uid in user_ids]
    rated = RATING_MODEL.rate(teams, ranks=ranks)
    for participant, [new] in zip(seated, rated, strict=True):
        row = rows[participant.user_id]
        participant.rating_before = row.rating
        row.mu, row.sigma = new.mu, new.sigma
        row.rating = _ordinal(new)
        row.matches += 1
        row.wins += int(participant.is_winner)
        row.save(update_fields=["mu", "sigma", "rating", "matches", "wins", "updated_at"])
        participant.rating_after = row.rating
        participant.save(update_fields=["rating_before", "rating_after"])


def _ordinal(rating: Any) -> float:
    """The displayed rating: mu - 3 sigma (0 for a new player)."""
    if rating is None:
        return RATING_MODEL.mu - 3 * RATING_MODEL.sigma
    return rating.mu - 3 * rating.sigma


#: Reasons that end a match without a result: nobody wins, nobody's rating changes.
ABORT_REASONS = frozenset({"error", "abandoned", "ended_by_staff"})


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
    """Save a finished match's result and ratings once. Returns (match, True) the first time only.

    Exactly once: the running -> finished transition is a conditional UPDATE, so a duplicate
    delivery (a retry, a second worker) finds no running row and changes nothing. Aborted
    matches (reason in ABORT_REASONS) are not rated.
    """
    status = Match.Status.ABORTED if reason in ABORT_REASONS else Match.Status.FINISHED
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
    participants = list(match.participants.all())
    for participant in participants:
        participant.placement = placements.get(participant.seat)
        participant.score = scores.get(participant.seat)
        participant.is_winner = status == Match.Status.FINISHED and participant.placement == best
        participant.save(update_fields=["placement", "score", "is_winner"])
    if status == Match.Status.FINISHED and len(participants) >= 2:
        _ratings_apply(game=match.game, participants=participants)
    Lobby.objects.filter(current_match=match, status=Lobby.Status.IN_MATCH).update(status=Lobby.Status.OPEN)
    Membership.objects.filter(lobby__current_match=match).update(ready=False)
    return match, True
