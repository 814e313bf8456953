"""Stable error codes (in error frames) and close codes (on the socket).

Error codes are namespaced strings; a client may rely on them. Games add their own
`input/...` codes through `engine.Rejected`; the ones the shipped games use are listed here.
Close codes carry their number in their name (starlette's `status.py` style).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    # protocol: the frame itself
    BAD_FRAME = "protocol/bad_frame"  # binary frame on the JSON codec, or text on msgpack
    MALFORMED = "protocol/malformed"  # not decodable msgpack / JSON, or beyond decoder limits
    UNKNOWN_TYPE = "protocol/unknown_type"  # no such message type
    INVALID = "protocol/invalid"  # a field is missing, extra, of the wrong type or out of range
    RATE_LIMITED = "rate_limited"  # too many messages; slow down
    INTERNAL = "internal"  # the server failed; nothing of the request was applied
    # auth
    BAD_CREDENTIALS = "auth/bad_credentials"  # wrong username or password
    USERNAME_TAKEN = "auth/username_taken"  # sign-up with a name already in use
    LOCKED_OUT = "auth/locked_out"  # too many failed sign-ins: wait `retry_after` seconds
    # lobby
    LOBBY_NOT_FOUND = "lobby/not_found"  # no open lobby with that id or code
    LOBBY_FULL = "lobby/full"  # every seat is taken
    LOBBY_CLOSED = "lobby/closed"  # the lobby is in a match or closed
    ALREADY_IN_LOBBY = "lobby/already_in"  # leave your lobby (or match) first
    NOT_IN_LOBBY = "lobby/not_member"  # you are not in a lobby
    NOT_HOST = "lobby/not_host"  # only the host may do this
    NOT_READY = "lobby/not_ready"  # not every member is ready, or too few players
    UNKNOWN_GAME = "lobby/unknown_game"  # no game of that name is installed
    BAD_OPTIONS = "lobby/bad_options"  # the game refused the options
    KICKED = "lobby/kicked"  # the host removed you from this lobby; you may not rejoin it
    MEMBER_NOT_FOUND = "lobby/member_not_found"  # that player is not in your lobby
    NO_REMATCH = "lobby/no_rematch"  # no finished match of yours in this lobby to play again
    # quick play
    ALREADY_QUEUED = "queue/already_in"  # you are in the quick-play queue; leave it first
    NOT_QUEUED = "queue/not_in"  # you are not in the quick-play queue
    # match
    MATCH_NOT_FOUND = "match/not_found"  # no such running match
    NOT_IN_MATCH = "match/not_in_match"  # you have no seat in a running match
    MATCH_ENDED = "match/ended"  # the match is over
    SPECTATING = "match/spectating"  # spectators cannot send inputs
    MATCH_PRIVATE = "match/private"  # a private match: spectate with its lobby's join code
    SEATED = "match/seated"  # you play in a match: you cannot spectate (this one or another)
    # replays
    REPLAY_NOT_FOUND = "replay/not_found"  # no finished match with that id that you may watch
    NOT_REPLAYING = "replay/not_replaying"  # you are not watching a replay
    REPLAY_MISMATCH = "replay/mismatch"  # re-simulating the stored inputs did not reproduce the stored result
    # inputs (from the engine and the shipped games)
    NOT_SEATED = "input/not_seated"  # the sender has no seat in the match
    SEAT_DROPPED = "input/seat_dropped"  # the grace period ran out; the seat is gone
    STALE_SEQ = "input/stale_seq"  # seq not above the last one received (repeat or old)
    SEQ_TOO_FAR = "input/seq_too_far"  # seq jumps too far ahead
    QUEUE_FULL = "input/queue_full"  # too many queued inputs; the oldest was dropped (at most once a second per seat)
    INVALID_INPUT = "input/invalid"  # the game cannot read this input
    NOT_YOUR_TURN = "input/not_your_turn"  # turn-based games: wait for your turn
    COLUMN_FULL = "input/column_full"  # connect four: that column is full
    GAME_OVER = "input/game_over"  # the game has ended


class CloseCode(IntEnum):
    WS_1000_NORMAL = 1000  # the client or server closed on purpose
    WS_1009_MESSAGE_TOO_BIG = 1009  # a frame over the protocol's size limit
    WS_1012_SERVICE_RESTART = 1012  # the server is restarting: reconnect
    WS_4001_UNAUTHENTICATED = 4001  # no valid session or token (or a token in the query string)
    WS_4002_PROTOCOL_ERROR = 4002  # too many invalid messages
    WS_4003_FORBIDDEN = 4003  # the user may not do this (inactive user, ...)
    WS_4005_UNSUPPORTED_SUBPROTOCOL = 4005  # no subprotocol offered that the server speaks
    WS_4008_RATE_LIMITED = 4008  # kept flooding after rate_limited errors
    WS_4009_TOO_SLOW = 4009  # the client stayed too far behind
    WS_4010_REPLACED = 4010  # a newer socket of the same user took over
    WS_4011_TOO_MANY_CONNECTIONS = 4011  # too many sockets from one address
