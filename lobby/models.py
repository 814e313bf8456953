"""Lobbies, memberships, matches and their participants: data only (services write them)."""

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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lobby = models.ForeignKey(Lobby, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches")
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

    class Meta:
        ordering = ["seat"]
        constraints = [
            models.UniqueConstraint(fields=["match", "seat"], name="participant_unique_seat"),
            models.UniqueConstraint(fields=["match", "user"], name="participant_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} seat {self.seat} of {self.match_id}"
