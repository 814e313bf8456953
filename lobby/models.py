"""Lobbies, memberships, the quick-play queue, matches, participants and ratings: data only.

Services write these rows; selectors read them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Lobby(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        IN_MATCH = "in_match"
        CLOSED = "closed"

    name = models.CharField(max_length=40)
    game = models.CharField(max_length=32, db_index=True)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_lobbies")
    max_players = models.PositiveSmallIntegerField()
    is_private = models.BooleanField(default=False)
    code = models.CharField(max_length=6, unique=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    current_match = models.ForeignKey("Match", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kicked = models.JSONField(default=list, blank=True, help_text="ids of users the host kicked; they may not rejoin")
    spectator_delay = models.PositiveSmallIntegerField(
        default=0, help_text="seconds (0-30) spectators see the match behind the players"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "lobbies"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.game}, {self.status})"


class Membership(models.Model):
    """A user in a lobby. One lobby per user at a time: the user column is unique."""

    lobby = models.ForeignKey(Lobby, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    ready = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.lobby_id}"


class Match(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        ABORTED = "aborted"

    class Mode(models.TextChoices):
        LOBBY = "lobby"
        QUICKPLAY = "quickplay"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lobby = models.ForeignKey(Lobby, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LOBBY, db_index=True)
    game = models.CharField(max_length=32, db_index=True)
    options = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField()
    tick_rate = models.PositiveSmallIntegerField()
    is_private = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ticks = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=32, blank=True)
    input_log = models.JSONField(default=list, blank=True)
    final_hash = models.CharField(max_length=32, blank=True)
    spectator_delay = models.PositiveSmallIntegerField(default=0, help_text="seconds spectators are held back")
    spectators = models.PositiveIntegerField(default=0, help_text="how many watch now (the engine updates it)")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.game} {self.id} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        """Wall time from start to end, once ended."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class MatchParticipant(models.Model):
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    seat = models.PositiveSmallIntegerField()
    placement = models.PositiveSmallIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    is_winner = models.BooleanField(default=False)
    rating_before = models.FloatField(null=True, blank=True, help_text="the player's displayed rating before")
    rating_after = models.FloatField(null=True, blank=True, help_text="... and after this match (unrated: empty)")

    class Meta:
        ordering = ["seat"]
        constraints = [
            models.UniqueConstraint(fields=["match", "seat"], name="participant_unique_seat"),
            models.UniqueConstraint(fields=["match", "user"], name="participant_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} seat {self.seat} of {self.match_id}"

    @property
    def rating_change(self) -> float | None:
        """How much this match moved the player's displayed rating."""
        if self.rating_before is None or self.rating_after is None:
            return None
        return self.rating_after - self.rating_before


class QueueEntry(models.Model):
    """A player waiting in a game's quick-play queue. One queue per user: the user column is unique."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_entry")
    game = models.CharField(max_length=32, db_index=True)
    skill = models.FloatField(help_text="the player's rating mean (mu) when queued: what the matcher compares")
    enqueued_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "queue entries"
        ordering = ["enqueued_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} queued for {self.game}"


class Rating(models.Model):
    """A player's skill in one game (openskill Plackett-Luce): mu, sigma and the displayed rating."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    game = models.CharField(max_length=32)
    mu = models.FloatField()
    sigma = models.FloatField()
    rating = models.FloatField(db_index=True, help_text="mu - 3 sigma: what leaderboards show and sort by")
    matches = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["game", "-rating"]
        constraints = [models.UniqueConstraint(fields=["user", "game"], name="rating_unique_user_game")]
        indexes = [models.Index(fields=["game", "-rating"], name="rating_leaderboard")]

    def __str__(self) -> str:
        return f"{self.user} {self.game} {self.rating:.1f}"
