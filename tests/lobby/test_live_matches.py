"""The live match list and the spectator delay option, at the service and selector level."""

from __future__ import annotations

import pytest

from lobby import selectors, services
from lobby.errors import LobbyError
from lobby.models import Match

pytestmark = pytest.mark.django_db


def lobby_match(host, guest, *, private: bool, delay: int = 0) -> str:
    lobby = services.lobby_create(host=host, name="l", game="connect_four", private=private, spectator_delay=delay)
    services.lobby_join(user=guest, code=lobby.code)
    for user in (host, guest):
        services.lobby_ready_set(user=user, ready=True)
    return services.lobby_start(user=host).match_id


def test_the_delay_is_bounded_and_reaches_the_match_spec(make_user):
    ann, ben = make_user("ann"), make_user("ben")
    with pytest.raises(LobbyError) as info:
        services.lobby_create(host=ann, name="l", game="connect_four", spectator_delay=31)
    assert info.value.code == "lobby/bad_options"
    lobby = services.lobby_create(host=ann, name="l", game="connect_four", spectator_delay=5)
    with pytest.raises(LobbyError):
        services.lobby_options_set(host=ann, spectator_delay=-1)
    assert services.lobby_options_set(host=ann, spectator_delay=30).spectator_delay == 30
    services.lobby_join(user=ben, code=lobby.code)
    for user in (ann, ben):
        services.lobby_ready_set(user=user, ready=True)
    spec = services.lobby_start(user=ann)
    assert spec.spectator_delay == 30 and spec.as_message()["spectator_delay"] == 30
    assert Match.objects.get(pk=spec.match_id).spectator_delay == 30


def test_only_running_public_matches_are_listed_with_spectators(make_user):
    ann, ben, cat, dan = (make_user(n) for n in ("ann", "ben", "cat", "dan"))
    public = lobby_match(ann, ben, private=False, delay=3)
    private = lobby_match(cat, dan, private=True)
    assert services.match_spectators_set(match_id=public, count=7)
    rows = selectors.live_matches()
    assert [r["match_id"] for r in rows] == [public]
    assert rows[0]["spectators"] == 7 and rows[0]["spectator_delay"] == 3
    assert [p["user"]["name"] for p in rows[0]["players"]] == ["ann", "ben"]
    assert selectors.live_match(match_id=private) is None
    services.match_result_record(
        match_id=public,
        placements={0: 1, 1: 2},
        scores={},
        reason="four_in_a_row",
        ticks=3,
        input_log=[],
        final_hash="x",
    )
    assert selectors.live_matches() == []
    assert not services.match_spectators_set(match_id=public, count=1)  # not running any more
