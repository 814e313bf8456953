"""HTTP views of the game server: sign-up/sign-in pages, the token API, health checks."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, user_logged_in
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from game_server.auth import bearer_token
from game_server.tokens import token_issue, token_revoke

MAX_BODY = 4096


def signup(request: HttpRequest) -> HttpResponse:
    """Browser sign-up page; signs the new user in."""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("/")
    return render(request, "skirmish/signup.html", {"form": form})


def _json_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if request.content_type != "application/json":
        return _error(415, "protocol/invalid", "send application/json")
    if len(request.body) > MAX_BODY:
        return _error(413, "protocol/invalid", "body too large")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        return _error(400, "protocol/malformed", "body is not valid JSON")
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("username", "password")):
        return _error(400, "protocol/invalid", "username and password are required strings")
    return body


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt  # JSON only (a cross-site form cannot send application/json without CORS)
@require_http_methods(["POST"])
def api_register(request: HttpRequest) -> JsonResponse:
    """POST {"username", "password"} -> 201 {"user": {...}}: create an account."""
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    username = body["username"].strip()
    user_model = get_user_model()
    if not 1 <= len(username) <= 150:
        return _error(400, "protocol/invalid", "username must be 1 to 150 characters")
    if user_model.objects.filter(username__iexact=username).exists():
        return _error(409, "auth/username_taken", "that username is taken")
    try:
        validate_password(body["password"], user_model(username=username))
    except ValidationError as exc:
        return _error(400, "protocol/invalid", " ".join(exc.messages))
    user = user_model.objects.create_user(username=username, password=body["password"])
    return JsonResponse({"user": {"id": user.pk, "name": user.get_username()}}, status=201)


@csrf_exempt  # JSON only, credentials in the body or a bearer header: no ambient cookie is used
@require_http_methods(["POST", "DELETE"])
def api_token(request: HttpRequest) -> JsonResponse:
    """POST {"username", "password"} -> {"token", "expires_at"}; DELETE with Bearer revokes."""
    if request.method == "DELETE":
        raw = bearer_token([(k.lower().encode(), v.encode("latin-1")) for k, v in request.headers.items()])
        if not raw or not token_revoke(raw=raw):
            return _error(401, "auth/bad_credentials", "no live token in the Authorization header")
        return JsonResponse({"revoked": True})
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    user = authenticate(request, username=body["username"], password=body["password"])
    if user is None:
        return _error(401, "auth/bad_credentials", "wrong username or password")
    user_logged_in.send(sender=type(user), request=request, user=user)  # a sign-in: last_login, throttling reset
    raw, row = token_issue(user=user)
    return JsonResponse(
        {
            "token": raw,
            "expires_at": row.expires_at.isoformat(),
            "user": {"id": user.pk, "name": user.get_username()},
        }
    )


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive."""
    return JsonResponse({"status": "ok"})
