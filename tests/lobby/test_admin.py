"""Every lobby model is in the admin; its list page loads with search and filters."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model

from lobby import services

pytestmark = pytest.mark.django_db


def test_every_lobby_model_is_registered_with_filters_and_search():
    for model in apps.get_app_config("lobby").get_models():
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, model.__name__
        assert model_admin.list_filter and model_admin.search_fields, model.__name__


def test_every_list_page_loads_searched_and_filtered(client, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.queue_join(user=alice, game="connect_four")
    services.queue_join(user=bob, game="connect_four")
    [spec] = services.queue_match(game="connect_four")
    services.match_result_record(
        match_id=spec.match_id,
        placements={0: 1, 1: 2},
        scores={},
        reason="four_in_a_row",
        ticks=1,
        input_log=[],
        final_hash="h",
    )
    services.lobby_create(host=alice, name="Friday", game="connect_four")
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    for model in apps.get_app_config("lobby").get_models():
        url = f"/admin/lobby/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(url, {"q": "alice"}).status_code == 200, url
        by_game = next(f for f in admin.site._registry[model].list_filter if "game" in f)
        assert client.get(url, {by_game: "connect_four"}).status_code == 200, url  # a bad lookup redirects
    page = client.get("/admin/lobby/rating/", {"q": "alice"}).content.decode()
    assert "alice" in page and "bob" not in page
