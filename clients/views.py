"""Serves the browser client: one page, plain ES modules, no build step."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The single-page browser client."""
    return render(request, "clients/index.html")
