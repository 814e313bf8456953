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


async def test_match_frames_for_a_channel_with_a_sink_go_to_the_sink_in_order_and_the_rest_queue() -> None:
    layer = InMemoryChannelLayer(capacity=10)
    direct, queued = await layer.new_channel(), await layer.new_channel()
    for channel in (direct, queued):
        await layer.group_add("match.1", channel)
    got: list[tuple[bytes, dict]] = []
    layer.register_sink(direct, lambda message, cache: got.append((message["frames"]["x"], cache)))
    await layer.group_send("match.1", {"type": "match.frame", "frames": {"x": b"1"}})
    await layer.send(direct, {"type": "match.frame", "frames": {"x": b"2"}})  # a snapshot sent to one socket
    await layer.group_send("match.1", {"type": "match.frame", "frames": {"x": b"3"}})
    await layer.group_send("match.1", {"type": "match.ended", "frames": {"x": b"end"}})
    assert [frame for frame, _ in got] == [b"1", b"2", b"3"]
    assert len({id(cache) for _, cache in got}) == 3  # one cache per message (all still alive here)
    assert (await layer.receive(direct))["type"] == "match.ended"  # everything else: the normal path
    assert [(await layer.receive(queued))["frames"]["x"] for _ in range(3)] == [b"1", b"3", b"end"]
    layer.unregister_sink(direct)
    await layer.send(direct, {"type": "match.frame", "frames": {"x": b"4"}})
    assert (await layer.receive(direct))["frames"]["x"] == b"4" and len(got) == 3


async def test_a_failing_sink_does_not_stop_the_other_members() -> None:
    layer = InMemoryChannelLayer(capacity=10)
    broken, ok = await layer.new_channel(), await layer.new_channel()
    for channel in (broken, ok):
        await layer.group_add("g", channel)

    def fail(message: dict, cache: dict) -> None:
        raise RuntimeError("socket gone")

    layer.register_sink(broken, fail)
    await layer.group_send("g", {"type": "match.frame", "frames": {"x": b"1"}})
    assert (await layer.receive(ok))["frames"]["x"] == b"1"


@pytest.mark.parametrize(
    ("payload", "header"),
    [
        (b"a" * 125, b"\x82\x7d"),
        ("é" * 63, b"\x81\x7e\x00\x7e"),  # text: UTF-8, 126 bytes
        (b"b" * 70_000, b"\x82\x7f" + (70_000).to_bytes(8, "big")),
    ],
)
def test_a_prebuilt_websocket_frame_is_an_unmasked_rfc6455_frame(payload: bytes | str, header: bytes) -> None:
    from game_server.daphne_adapter import websocket_frame

    raw = payload.encode() if isinstance(payload, str) else payload
    assert websocket_frame(payload) == header + raw
