"""API tokens for desktop clients and bots: stored hashed, revocable, expiring."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def token_hash(raw: str) -> str:
    """SHA-256 of a token (tokens are 256-bit random, so a plain hash is enough)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_generate() -> str:
    """A new raw token; shown to its owner once, never stored."""
    return "sk_" + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="the first characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}… of {self.user}"
