"""The arena, driven by the testing kit: movement with acks, a whole timed match, several viewers."""

from __future__ import annotations

from game_server.testing import boot_match


async def test_holding_a_direction_moves_the_player_and_acks_the_input(skirmish_match):
    kit = await skirmish_match("arena", players=3, seed=5, spectators=1)
    one, two, _ = kit.clients
    await kit.next_frame(one)
    start = dict(one.view["players"]["0"])
    seq = await one.send({"dx": 1, "dy": 0})
    await kit.next_tick(10)
    await kit.read_all()
    moved = one.view["players"]["0"]
    assert moved["x"] > start["x"] and moved["y"] == start["y"] and moved["vx"] > 0
    assert one.ack == seq
    assert two.view == one.view  # no hidden information: everybody shares one document
    assert kit.spectators[0].view == one.view
    assert one.tick == two.tick == kit.tick == 10


async def test_a_whole_timed_match_with_a_pickup_collector(skirmish_match):
    kit = await skirmish_match("arena", players=2, seed=11, options={"time_seconds": 5, "score_limit": 0})
    runner, idle = kit.clients
    await kit.read_all()
    while not kit.finished:  # runner chases the nearest pickup; idle stands still
        await kit.read(runner)
        if runner.doc is not None:
            me = runner.view["players"]["0"]
            target = min(runner.view["pickups"].values(), key=lambda p: (p[0] - me["x"]) ** 2 + (p[1] - me["y"]) ** 2)
            dx = (target[0] > me["x"] + 50) - (target[0] < me["x"] - 50)
            dy = (target[1] > me["y"] + 50) - (target[1] < me["y"] - 50)
            await runner.send({"dx": dx, "dy": dy})
        await kit.next_tick()
    await kit.read_all()
    ended = kit.ended
    assert ended is not None and ended.outcome.reason == "time_up"
    assert kit.tick == 100  # 5 s at 20 Hz
    assert ended.outcome.scores[0] > ended.outcome.scores[1] == 0
    assert ended.outcome.winners == [0]
    assert runner.ended is not None and idle.ended is not None
    assert runner.ended["outcome"]["placements"] == {"0": 1, "1": 2}


async def test_the_json_codec_sees_the_same_documents():
    async with boot_match("arena", players=2, seed=2, codec="json") as kit:
        a, b = kit.clients
        await a.send({"dx": 0, "dy": 1})
        await kit.next_tick(3)
        await kit.read_all()
        assert a.view["players"]["0"]["vy"] > 0 and a.view == b.view
        assert isinstance(a.frames[-1]["delta"], dict)
