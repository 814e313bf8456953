"""Seed a benchmark database with load-test accounts and their tokens, without the HTTP cost.

Registering over `POST /api/auth/register` and signing in costs two password hashes (~0.25 s
each here) per account; for a sweep of a thousand sockets that is minutes of server CPU before
the first frame. This writes the same rows directly (one hash, shared) and prints the tokens
as the load generator's cache: {url: {username: token}}.

Usage: DATABASE_URL=sqlite:///path DEBUG=1 python -m bench.users --count N --prefix lt --url URL --out FILE
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    """Create the accounts that are missing, issue a token for each, write the cache."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--prefix", default="lt")
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from game_server.tokens import token_issue

    user_model = get_user_model()
    names = [f"{a.prefix}{i:05d}" for i in range(a.count)]
    have = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    hashed = make_password(f"Skirmish-load-{a.prefix}-9x!")
    user_model.objects.bulk_create([user_model(username=n, password=hashed) for n in names if n not in have])
    tokens = {u.username: token_issue(user=u)[0] for u in user_model.objects.filter(username__in=names)}
    with open(a.out, "w") as f:
        json.dump({a.url.rstrip("/"): tokens}, f)
    print(f"{len(tokens)} accounts with tokens in {a.out}")


if __name__ == "__main__":
    main()
