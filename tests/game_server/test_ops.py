"""Operations: /healthz, /readyz, /metrics access, and the staff monitor ending a live match."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from lobby.models import Match
from tests.game_server.conftest import make_token, make_user
from tests.support.prometheus import scraped


@database_sync_to_async
def make_staff(name: str):
    return get_user_model().objects.create_user(username=name, password="pw-for-tests-1", is_staff=True)


async def test_healthz_and_readyz(transactional_db):
    client = AsyncClient()
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


async def test_readyz_is_503_when_the_channel_layer_is_down(transactional_db, settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1"]}}
    }
    reply = await AsyncClient().get("/readyz")
    assert reply.status_code == 503
    assert reply.json()["checks"]["channel_layer"].startswith("failed")


@pytest.mark.parametrize("who", ["anonymous", "player", "staff", "token"])
async def test_metrics_need_staff_or_the_token(transactional_db, settings, who):
    settings.SKIRMISH_METRICS_TOKEN = "metrics-secret-123"
    client = AsyncClient()
    headers = {}
    if who == "player":
        await client.aforce_login(await make_user("pat"))
    elif who == "staff":
        await client.aforce_login(await make_staff("sam"))
    elif who == "token":
        headers = {"Authorization": "Bearer metrics-secret-123"}
    reply = await client.get("/metrics", headers=headers)
    if who in ("staff", "token"):
        assert reply.status_code == 200
        body = reply.content.decode()
        for name in (
            "skirmish_sockets_open",
            "skirmish_matches_running",
            "skirmish_tick_seconds_bucket",
            "skirmish_tick_lateness_seconds_bucket",
            "skirmish_late_ticks_total",
            "skirmish_tick_overruns_total",
            "skirmish_frames_in_total",
            "skirmish_deltas_dropped_total",
            "skirmish_sockets_behind",
        ):
            assert name in body
    else:
        assert reply.status_code == 403


async def test_the_frame_counters_count_each_frame_in_and_out(open_socket, settings):
    settings.SKIRMISH_METRICS_TOKEN = "metrics-secret-123"
    client = AsyncClient()
    headers = {"Authorization": "Bearer metrics-secret-123"}
    before = (await client.get("/metrics", headers=headers)).content.decode()
    sock, _ = await open_socket(token=await make_token(await make_user("counted")))
    await sock.expect("welcome")
    for rid in range(3):
        await sock.send({"type": "ping", "rid": rid})
        await sock.expect("pong")
    after = (await client.get("/metrics", headers=headers)).content.decode()
    assert scraped(after, "skirmish_frames_in_total") - scraped(before, "skirmish_frames_in_total") == 3
    assert scraped(after, "skirmish_frames_out_total") - scraped(before, "skirmish_frames_out_total") >= 4


async def start_connect_four(open_socket) -> tuple[object, object, str]:
    alice, bob = await make_user("alice"), await make_user("bob")
    a, _ = await open_socket(token=await make_token(alice))
    b, _ = await open_socket(token=await make_token(bob))
    await a.expect("welcome")
    await b.expect("welcome")
    await a.send({"type": "lobby.create", "rid": 1, "name": "m", "game": "connect_four", "private": True})
    code = (await a.expect("ok"))["data"]["code"]
    await b.send({"type": "lobby.join", "rid": 1, "code": code})
    await b.expect("ok")
    for sock in (a, b):
        await sock.send({"type": "lobby.ready", "rid": 2, "ready": True})
        await sock.expect("ok")
    await a.send({"type": "lobby.start", "rid": 3})
    match_id = (await a.expect("ok"))["data"]["match_id"]
    await a.expect("snapshot")
    await b.expect("snapshot")
    return a, b, match_id


async def test_staff_monitor_shows_live_matches_and_ends_one(open_socket):
    a, b, match_id = await start_connect_four(open_socket)
    staff = AsyncClient()
    assert (await staff.get("/staff/matches/")).status_code == 302  # not signed in
    await staff.aforce_login(await make_staff("root"))
    listing = (await staff.get("/staff/matches/", headers={"Accept": "application/json"})).json()
    (row,) = listing["matches"]
    assert row["id"] == match_id and [p["user"]["name"] for p in row["players"]] == ["alice", "bob"]
    live = row["live"]
    assert live["game"] == "connect_four" and live["tick_rate"] == 10 and live["tick"] >= 1
    assert live["seats"] == {"0": "connected", "1": "connected"} and ":" in live["owner"]
    page = await staff.get("/staff/matches/")
    assert page.status_code == 200 and match_id[:8].encode() in page.content

    ended = await staff.post(f"/staff/matches/{match_id}/end")
    assert ended.status_code == 302
    for sock in (a, b):
        outcome = (await sock.expect("match.ended"))["outcome"]
        assert outcome["reason"] == "ended_by_staff"
    match = await database_sync_to_async(Match.objects.get)(pk=match_id)
    assert match.status == "aborted" and match.reason == "ended_by_staff"


async def test_players_cannot_end_matches(open_socket):
    _, _, match_id = await start_connect_four(open_socket)
    client = AsyncClient()
    await client.aforce_login(await make_user("mallory"))
    reply = await client.post(f"/staff/matches/{match_id}/end")
    assert reply.status_code == 302 and "/admin/login/" in reply["Location"]
    match = await database_sync_to_async(Match.objects.get)(pk=match_id)
    assert match.status == "running"


def test_the_tick_histograms_read_as_prometheus_histograms_of_the_same_values():
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from game_server.metrics import TallyHistogram

    bounds = (0.0005, 0.001, 0.002, 0.25)
    ours = TallyHistogram("h_seconds", "doc", bounds)
    registry = CollectorRegistry()
    theirs = Histogram("h_seconds", "doc", buckets=bounds, registry=registry)
    for value in (0.0, 0.0005, 0.00051, 0.001, 0.0019, 0.3, 7.0):  # on a bound, just over one, past all
        ours.observe(value)
        theirs.observe(value)

    class One:
        def collect(self):
            yield ours.metric()

    mine = CollectorRegistry()
    mine.register(One())  # type: ignore[arg-type]
    expected = [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]
    assert generate_latest(mine).decode().splitlines() == expected
    assert 'h_seconds_bucket{le="0.0005"} 2.0' in expected  # (0.0 and 0.0005: a bound is in its bucket)
