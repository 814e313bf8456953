"""Input queues: sequence numbers, stale and duplicate drops, the per-tick cap, acks in every frame."""

from __future__ import annotations

from engine.game import Player
from engine.games.arena import Arena
from engine.games.connect_four import ConnectFour
from engine.match import INPUT_QUEUE, MAX_SEQ_JUMP, Frame, InputRejected, Match


def arena_match() -> Match:
    game = Arena()
    match = Match(match_id="m", game=game, players=[Player(0, "a"), Player(1, "b")], options={}, seed=1)
    match.connect(0)
    match.connect(1)
    return match


def frames(out: list) -> list[Frame]:
    return [f for f in out if isinstance(f, Frame)]


def acks_after(match: Match, out: list) -> dict[str, int]:
    (frame,) = frames(out)
    assert not frame.full
    return match.snapshot(None).body["acks"]


def test_a_duplicate_seq_is_refused_and_not_applied():
    match = arena_match()
    assert match.receive_input(0, 1, {"dx": 1, "dy": 0}) is None
    dup = match.receive_input(0, 1, {"dx": -1, "dy": 0})
    assert isinstance(dup, InputRejected) and dup.code == "input/stale_seq" and dup.seq == 1
    match.advance()
    assert match.state.bodies[0].dx == 1
    assert [list(e[1:4]) for e in match.log] == [[0, "input", 1]]


def test_a_stale_seq_is_refused():
    match = arena_match()
    match.receive_input(0, 5, {"dx": 1, "dy": 0})
    stale = match.receive_input(0, 3, {"dx": -1, "dy": 0})
    assert isinstance(stale, InputRejected) and stale.code == "input/stale_seq"
    match.advance()
    assert match.seats[0].ack == 5


def test_a_seq_too_far_ahead_is_refused():
    match = arena_match()
    too_far = match.receive_input(0, MAX_SEQ_JUMP + 1, {"dx": 1, "dy": 0})
    assert isinstance(too_far, InputRejected) and too_far.code == "input/seq_too_far"
    assert match.receive_input(0, MAX_SEQ_JUMP, {"dx": 1, "dy": 0}) is None


def test_inputs_of_a_seat_are_capped_per_tick_in_order():
    match = arena_match()
    cap = match.game.max_inputs_per_tick
    for seq in range(1, cap + 3):
        assert match.receive_input(0, seq, {"dx": 1 if seq % 2 else -1, "dy": 0}) is None
    match.advance()
    assert match.seats[0].ack == cap
    assert [e[3] for e in match.log] == list(range(1, cap + 1))
    match.advance()
    assert match.seats[0].ack == cap + 2
    assert [e[3] for e in match.log] == list(range(1, cap + 3))
    assert [e[0] for e in match.log] == [0] * cap + [1, 1]


def test_a_full_queue_drops_its_oldest_input():
    match = arena_match()
    for seq in range(1, INPUT_QUEUE + 1):
        assert match.receive_input(1, seq, {"dx": 0, "dy": 1}) is None
    dropped = match.receive_input(1, INPUT_QUEUE + 1, {"dx": 0, "dy": 1})
    assert isinstance(dropped, InputRejected) and dropped.code == "input/queue_full" and dropped.seq == 1
    assert [seq for seq, _ in match.seats[1].queue] == list(range(2, INPUT_QUEUE + 2))


def test_every_frame_carries_the_acks_of_every_seat():
    match = arena_match()
    match.receive_input(0, 1, {"dx": 1, "dy": 0})
    match.receive_input(1, 7, {"dx": 0, "dy": 1})
    out = match.advance()
    assert frames(out)[0].body["sub"]["acks"] == {"set": {"0": 1, "1": 7}}
    assert acks_after(match, out) == {"0": 1, "1": 7}
    out = match.advance()
    assert "acks" not in frames(out)[0].body.get("sub", {})  # unchanged acks are not resent in a delta ...
    assert match.snapshot(0).body["acks"] == {"0": 1, "1": 7}  # ... but every document holds them


def test_a_rejected_input_is_acked_but_not_logged():
    game = ConnectFour()
    match = Match(match_id="c", game=game, players=[Player(0, "a"), Player(1, "b")], options={}, seed=0)
    out = match.advance()
    wrong_seat = 1 - match.state.turn
    match.receive_input(wrong_seat, 1, {"col": 3})
    out = match.advance()
    rejected = [o for o in out if isinstance(o, InputRejected)]
    assert [(r.seat, r.seq, r.code) for r in rejected] == [(wrong_seat, 1, "input/not_your_turn")]
    assert match.snapshot(None).body["acks"][str(wrong_seat)] == 1
    assert match.log == []


def test_a_malformed_input_is_refused_without_ending_the_match():
    match = arena_match()
    match.receive_input(0, 1, {"dx": [1]})
    out = match.advance()
    assert [o.code for o in out if isinstance(o, InputRejected)] == ["input/invalid"]
    assert match.outcome is None


def test_inputs_of_an_unknown_or_dropped_seat_are_refused():
    match = arena_match()
    assert match.receive_input(5, 1, {}).code == "input/not_seated"
    match.seats[1].status = "dropped"
    assert match.receive_input(1, 1, {"dx": 1, "dy": 0}).code == "input/seat_dropped"


def test_logged_inputs_leave_the_garbage_collectors_tracking():
    # A full collection rescans every tracked object: a log of lists grew every scan by thousands
    # of objects a second (250 ms pauses at 100 matches). Tuples of atoms drop out of tracking.
    import gc

    match = arena_match()
    for seq in range(1, 6):
        match.receive_input(0, seq, {"dx": 1, "dy": 0})
        match.advance()
    gc.collect()  # an entry passes two young collections before a full one reaches it
    gc.collect()
    assert len(match.log) == 5
    assert not any(gc.is_tracked(entry) for entry in match.log)


def test_repeated_inputs_leave_tracking_at_their_first_young_collection():
    # An entry holding a data tuple that is still tracked stays tracked through that collection
    # (the collector looks at the entry first), so every entry reached the middle generation:
    # 27,000 of them per middle collection at 100 matches, 4-12 ms pauses. Data seen before is
    # shared, already untracked.
    import gc

    match = arena_match()
    match.receive_input(0, 1, {"dx": 1, "dy": 0})
    match.advance()
    gc.collect()
    for seq in range(2, 12):
        match.receive_input(0, seq, {"dx": 1, "dy": 0})
        match.receive_input(1, seq, {"dx": 0, "dy": -1} if seq > 2 else {"dx": 1, "dy": 0})
        match.advance()
    gc.collect(0)
    new = match.log[1:]
    assert len(new) == 20
    assert sum(gc.is_tracked(entry) for entry in new) <= 1  # (the first {"dx": 0, "dy": -1} one)


def test_shared_input_data_keeps_each_values_type_and_its_bound(monkeypatch):
    from engine import match as match_module

    entries = [match_module._compact((0, 0, "input", 1, {"a": v})) for v in (True, 1, "1", None, 1)]
    assert [type(e[4][1]) for e in entries] == [bool, int, str, type(None), int]
    assert entries[1][4] is entries[4][4]
    monkeypatch.setattr(match_module, "_shared_data", {})
    monkeypatch.setattr(match_module, "SHARED_DATA_MAX", 3)
    for v in range(10):
        assert match_module._compact((0, 0, "input", 1, {"a": v}))[4] == ("a", v)
    assert len(match_module._shared_data) == 3
