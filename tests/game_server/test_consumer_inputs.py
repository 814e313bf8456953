"""Bad inputs in a running match: each gets a typed error with its seq, and the state is unchanged."""

from __future__ import annotations

from tests.game_server.test_ops import start_connect_four


async def document(sock) -> dict:
    """Ask for a resync and return the full document."""
    await sock.send({"type": "match.resync", "rid": 77})
    return (await sock.expect("snapshot"))["doc"]


async def input_error(sock, seq: int, data: dict) -> dict:
    await sock.send({"type": "match.input", "rid": seq, "seq": seq, "data": data})
    while True:
        msg = await sock.recv()
        if msg["type"] == "error":
            return msg


async def test_bad_inputs_get_typed_errors_and_change_nothing(open_socket):
    a, b, _ = await start_connect_four(open_socket)
    doc = await document(a)
    mover, waiter = (a, b) if doc["game"]["turn"] == 0 else (b, a)
    board = doc["game"]["board"]

    error = await input_error(waiter, 1, {"col": 3})
    assert (error["code"], error["seq"]) == ("input/not_your_turn", 1)
    error = await input_error(waiter, 1, {"col": 3})  # the same seq again
    assert (error["code"], error["seq"]) == ("input/stale_seq", 1)
    error = await input_error(waiter, 5000, {"col": 3})
    assert (error["code"], error["seq"]) == ("input/seq_too_far", 5000)
    error = await input_error(mover, 1, {"col": 99})
    assert (error["code"], error["seq"]) == ("input/invalid", 1)
    error = await input_error(mover, 2, {"row": 1})
    assert error["code"] == "input/invalid"

    after = await document(a)
    assert after["game"]["board"] == board and after["game"]["turn"] == doc["game"]["turn"]
    assert after["acks"][str(doc["game"]["turn"])] == 2  # processed (and refused) inputs are acked


async def test_a_good_move_after_bad_ones_is_applied(open_socket):
    a, b, _ = await start_connect_four(open_socket)
    doc = await document(a)
    mover = a if doc["game"]["turn"] == 0 else b
    assert (await input_error(mover, 1, {"col": -1}))["code"] == "input/invalid"
    await mover.send({"type": "match.input", "seq": 2, "data": {"col": 2}})
    while True:  # the tick that applies it changes the board
        msg = await mover.recv()
        if msg["type"] == "delta" and "board" in msg["delta"].get("sub", {}).get("game", {}).get("set", {}):
            break
    after = await document(mover)
    assert after["game"]["board"][2] == [doc["game"]["turn"]]
    assert after["acks"][str(doc["game"]["turn"])] == 2
