"""CHANNEL_LAYER=pubsub (the default with REDIS_URL) against the real Redis: frames to sinks decoded
once, publishes in call order."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from typing import Any

import pytest

from game_server import redis_layer
from game_server.engine_bridge import LAYER_ERRORS
from game_server.redis_layer import RedisPubSubChannelLayer
from tests.cluster.conftest import SHARED_REDIS
from tests.cluster.harness import RedisServer
from tests.e2e.server import free_port


def make_layer(prefix: str, url: str = SHARED_REDIS) -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(hosts=[{"address": url}], prefix=prefix)


async def receive(layer: RedisPubSubChannelLayer, channel: str) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), 5)


def configured_layer(**env: str) -> subprocess.CompletedProcess[str]:
    """Start Django in a new process with this environment (and REDIS_URL); it prints CHANNEL_LAYERS."""
    code = "import django; django.setup(); from django.conf import settings as s; print(s.CHANNEL_LAYERS)"
    environ = {key: value for key, value in os.environ.items() if key != "CHANNEL_LAYER"}
    environ.update(DJANGO_SETTINGS_MODULE="settings", REDIS_URL=SHARED_REDIS, **env)
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)


def test_with_redis_the_pubsub_layer_is_the_default_and_core_is_one_setting_away():
    assert "'game_server.redis_layer.RedisPubSubChannelLayer'" in configured_layer().stdout
    assert "'channels_redis.core.RedisChannelLayer'" in configured_layer(CHANNEL_LAYER="core").stdout
    wrong = configured_layer(CHANNEL_LAYER="fast")
    assert wrong.returncode != 0 and "CHANNEL_LAYER must be core or pubsub, not 'fast'" in wrong.stderr


async def test_a_frame_goes_to_every_sink_decoded_once_and_the_rest_keep_their_queues(prefix):
    layer = make_layer(prefix)
    try:
        a, b, plain = [await layer.new_channel() for _ in range(3)]
        got: list[tuple[str, dict[str, Any], dict[Any, Any]]] = []
        for channel in (a, b):
            layer.register_sink(channel, lambda message, cache, channel=channel: got.append((channel, message, cache)))
            await layer.group_add("match.1", channel)
        await layer.group_add("match.1", plain)
        frame = {"type": "match.frame", "frames": {"skirmish.v1.msgpack": b"\x01\x02"}, "droppable": True}
        await layer.group_send("match.1", frame)
        assert await receive(layer, plain) == frame
        assert sorted(channel for channel, _, _ in got) == sorted([a, b])
        (_, first, cache1), (_, second, cache2) = got
        assert first == frame and first is second and cache1 is cache2  # one decode, one cache per message
        # Anything else, and frames sent after the sink is gone, take the queue.
        await layer.group_send("match.1", {"type": "lobby.state", "lobby": {"id": 1}})
        for channel in (a, b, plain):
            assert (await receive(layer, channel))["type"] == "lobby.state"
        layer.unregister_sink(b)
        await layer.group_send("match.1", frame)
        assert await receive(layer, b) == frame and await receive(layer, plain) == frame
        assert len(got) == 3  # a's sink got the second frame too
    finally:
        await layer.flush()


async def test_sends_and_inputs_sent_at_once_arrive_in_the_order_they_were_made(prefix):
    layer = make_layer(prefix)
    try:
        engine = await layer.new_channel()
        join = asyncio.ensure_future(layer.send(engine, {"type": "match.join", "seat": 0}))
        await asyncio.sleep(0)  # the join has joined the open batch; it is not written yet
        assert not join.done()
        for seq in range(1, 101):
            assert layer.deliver_now(engine, {"type": "match.input", "seq": seq})
            if seq % 25 == 0:
                await layer.send(engine, {"type": "match.resync", "after": seq})
        await join
        got = [await receive(layer, engine) for _ in range(105)]
        assert got[0] == {"type": "match.join", "seat": 0}
        inputs = [m["seq"] for m in got if m["type"] == "match.input"]
        assert inputs == list(range(1, 101))
        resyncs = [i for i, m in enumerate(got) if m["type"] == "match.resync"]
        assert [got[i - 1]["seq"] for i in resyncs] == [25, 50, 75, 100]
        assert not layer.deliver_now(engine, {"type": "match.join", "seat": 1})  # only inputs go at once
    finally:
        await layer.flush()


async def test_without_redis_a_send_fails_and_an_input_sent_at_once_is_logged_as_lost(prefix, caplog, monkeypatch):
    monkeypatch.setattr(redis_layer, "_warned", [0.0])
    layer = make_layer(prefix, f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="game_server.redis_layer"):
        assert layer.deliver_now("somewhere", {"type": "match.input", "seq": 1})  # never raises
        with pytest.raises(LAYER_ERRORS):  # what the engine's broadcaster expects of a layer without Redis
            await layer.send("somewhere", {"type": "match.join"})
        await asyncio.sleep(0.05)
    assert "publishing to Redis failed; the batch's messages are lost" in caplog.text


async def test_an_engine_receiver_takes_inputs_unless_something_is_queued_before_them(prefix):
    web, engine = make_layer(prefix), make_layer(prefix)  # two processes' layers
    try:
        channel = "skirmish.match.m1"
        taken: list[int] = []
        engine.register_receiver(channel, lambda message: taken.append(message["seq"]))
        # What the match's listener does first in receive(); it is not waiting, so a queued message stays.
        await engine._get_layer()._subscribe_to_channel(channel)
        web.deliver_now(channel, {"type": "match.input", "seq": 1})
        await web.send(channel, {"type": "match.join", "seat": 0})
        web.deliver_now(channel, {"type": "match.input", "seq": 2})
        await asyncio.sleep(0.3)
        # The first input was taken at once; the second came while the join waited in the queue.
        assert taken == [1]
        assert (await receive(engine, channel))["type"] == "match.join"
        assert await receive(engine, channel) == {"type": "match.input", "seq": 2}
        web.deliver_now(channel, {"type": "match.input", "seq": 3})
        await asyncio.sleep(0.3)
        assert taken == [1, 3]
    finally:
        await web.flush()
        await engine.flush()


async def test_after_a_redis_restart_the_next_send_gets_through(tmp_path, prefix):
    server = RedisServer(tmp_path)
    server.start()
    layer, reader = make_layer(prefix, server.url), make_layer(prefix, server.url)
    try:
        channel = await reader.new_channel()
        await layer.send(channel, {"type": "match.input", "seq": 1})  # the pool now holds a connection
        assert (await receive(reader, channel))["seq"] == 1
        server.kill()
        server.start()  # same port, nothing kept: the pooled connection is dead
        await layer.send(channel, {"type": "match.input", "seq": 2})  # fails once, then written anew
        await reader.flush()
        channel = await reader.new_channel()
        await layer.send(channel, {"type": "match.input", "seq": 3})
        assert (await receive(reader, channel))["seq"] == 3
    finally:
        await layer.flush()
        await reader.flush()
        server.kill()


async def test_a_send_before_anyone_subscribes_waits_for_the_subscriber_and_keeps_its_place(prefix):
    web, engine = make_layer(prefix), make_layer(prefix)
    try:
        channel = "skirmish.match.m2"  # the engine has not subscribed to its new match's channel yet
        await web.send(channel, {"type": "match.join", "seat": 0})
        web.deliver_now(channel, {"type": "match.input", "seq": 1})
        await web.send(channel, {"type": "match.resync"})
        await asyncio.sleep(0.3)
        first = asyncio.ensure_future(receive(engine, channel))  # now it subscribes
        got = [await first, await receive(engine, channel), await receive(engine, channel)]
        assert [m["type"] for m in got] == ["match.join", "match.input", "match.resync"]
    finally:
        await web.flush()
        await engine.flush()


async def test_a_send_nobody_subscribes_to_is_dropped_after_a_while_and_said(prefix, caplog, monkeypatch):
    monkeypatch.setattr(redis_layer, "HOLD_SECONDS", 0.3)
    layer = make_layer(prefix)
    try:
        with caplog.at_level(logging.WARNING, logger="game_server.redis_layer"):
            await layer.send("skirmish.gone", {"type": "match.frame", "frames": {}})
            await layer.send("skirmish.gone", {"type": "match.frame", "frames": {}})
            await asyncio.sleep(1.0)
        assert "nobody subscribed to skirmish.gone within 0.3s: 2 messages dropped" in caplog.text
        shard = layer._get_layer()._get_shard("x")  # (the only shard: one Redis)
        assert shard._held == {}  # the dropped channel's hold is over
        await layer.group_send("nobody", {"type": "lobby.state"})  # a group without members is no such case
        assert shard._held == {}
    finally:
        await layer.flush()
