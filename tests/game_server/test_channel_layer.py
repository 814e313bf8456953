"""The one-machine channel layer: same delivery rules as Channels' in-memory layer, less scanning."""

from __future__ import annotations

import time

import pytest
from channels.exceptions import ChannelFull

from game_server import channel_layer
from game_server.channel_layer import InMemoryChannelLayer


async def test_group_send_gives_every_member_its_own_copy() -> None:
    layer = InMemoryChannelLayer(capacity=10)
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("match.1", a)
    await layer.group_add("match.1", b)
    await layer.group_send("match.1", {"type": "match.frame", "frames": {"x": b"1"}})
    got_a, got_b = await layer.receive(a), await layer.receive(b)
    assert got_a == got_b == {"type": "match.frame", "frames": {"x": b"1"}}
    got_a["frames"]["x"] = b"changed"
    assert got_b["frames"]["x"] == b"1"


async def test_a_full_member_misses_the_message_and_the_others_get_it() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    full, ok = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", full)
    await layer.group_add("g", ok)
    await layer.send(full, {"type": "first"})
    await layer.group_send("g", {"type": "second"})
    assert (await layer.receive(full))["type"] == "first"
    assert (await layer.receive(ok))["type"] == "second"
    with pytest.raises(ChannelFull):
        await layer.send(ok, {"type": "a"})
        await layer.send(ok, {"type": "b"})


async def test_expired_messages_are_still_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel_layer, "CLEAN_INTERVAL", 0.0)
    layer = InMemoryChannelLayer(expiry=1)
    stale = await layer.new_channel()
    await layer.group_add("g", stale)
    await layer.group_send("g", {"type": "old"})
    await layer.send("worker", {"type": "old"})
    frozen = time.time() + 5
    monkeypatch.setattr(time, "time", lambda: frozen)
    layer._clean_expired()
    assert stale not in layer.channels and "worker" not in layer.channels
    assert stale not in layer.groups.get("g", {})  # a channel whose message expired leaves its groups


async def test_a_group_without_members_is_a_no_op() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_send("nobody", {"type": "x"})
    assert layer.channels == {}


async def test_nested_messages_are_still_copied_deeply() -> None:
    layer = InMemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("lobby.1", a)
    await layer.group_add("lobby.1", b)
    await layer.group_send("lobby.1", {"type": "lobby.state", "lobby": {"members": [{"ready": False}]}})
    got_a, got_b = await layer.receive(a), await layer.receive(b)
    got_a["lobby"]["members"][0]["ready"] = True
    assert got_b == {"type": "lobby.state", "lobby": {"members": [{"ready": False}]}}
