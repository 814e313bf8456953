"""The in-memory channel layer of one-machine mode, without its per-message full scans.

Channels' `InMemoryChannelLayer` runs `_clean_expired()` (a walk over every channel queue and
every group member) on every `receive` and every `group_send`. With one consumer per socket that
is O(sockets) work per delivered frame, O(sockets²) per tick: at 80 arena clients it was ~30 %
of the server's CPU. Here the walk runs at most once per `CLEAN_INTERVAL` seconds; expiry
(30 s here) is an upper bound on a message's age, so a message may be dropped up to one interval
later than before, which nothing relies on.

`group_send` also puts each message straight into the members' queues (the parent creates one
task per member and awaits them). Each member still gets its own copy, as before (a copy of the
top two levels when they hold only strings, bytes and numbers, which is what deepcopy yields for
them; deepcopy otherwise), and full queues still drop the message for that member silently (the
ASGI rule for groups).

Direct delivery (FANOUT=direct): a consumer may register a *sink* for its channel
(`register_sink`). Then every `match.frame` for that channel, by `group_send` or `send`, is
handed to the sink synchronously, with the original message (sinks must not change it) and a
dict shared by all recipients of that one message (for per-message caches such as the built
websocket frame): no queue, no copy, no task, no dispatch. Every `match.frame` to that channel
takes that path, so a snapshot is never overtaken by a later delta. Everything else, and
members without a sink, keep the normal path.

Direct input (the other way): the in-process engine registers a *receiver* for each match's
channel (`register_receiver`). A `match.input` sent to that channel while nothing is queued for
it is handed to the receiver synchronously (`deliver_now`, also usable outside a coroutine): no
copy, no queue, no listening task woken. With something queued it takes the queue, behind it, so
a player's `match.join` is never overtaken by their first input.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from channels.layers import InMemoryChannelLayer as _InMemoryChannelLayer

from game_server.protocol import LazyEncodings

CLEAN_INTERVAL = 1.0
DIRECT_TYPE = "match.frame"
INPUT_TYPE = "match.input"

#: A direct sink: (message, cache shared by this message's recipients) -> None.
Sink = Callable[[dict[str, Any], dict[Any, Any]], None]
#: A direct receiver: message -> None (it must not keep or change the message after returning).
Receiver = Callable[[dict[str, Any]], None]

logger = logging.getLogger(__name__)


class DirectDelivery:
    """Sinks (frames straight to sockets) and receivers (inputs straight to matches) of a layer.

    Mixed into this module's layer and `game_server.redis_layer`'s; each decides where they apply.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sinks: dict[str, Sink] = {}
        self.receivers: dict[str, Receiver] = {}

    def register_sink(self, channel: str, sink: Sink) -> None:
        """Deliver every match.frame for `channel` by calling `sink` instead of queueing it."""
        self.sinks[channel] = sink

    def unregister_sink(self, channel: str) -> None:
        """Back to the normal path for `channel` (no-op if it had no sink)."""
        self.sinks.pop(channel, None)

    def register_receiver(self, channel: str, receiver: Receiver) -> None:
        """Hand every match.input for `channel` to `receiver` when nothing is queued before it."""
        self.receivers[channel] = receiver

    def unregister_receiver(self, channel: str) -> None:
        """Back to the queue for `channel` (no-op if it had no receiver)."""
        self.receivers.pop(channel, None)


class InMemoryChannelLayer(DirectDelivery, _InMemoryChannelLayer):
    """Channels' in-memory layer with throttled expiry scans and a task-free group_send."""

    _next_clean = 0.0
    #: Messages never leave the process (so they may carry protocol.LazyEncodings).
    in_process = True

    def deliver_now(self, channel: str, message: dict[str, Any]) -> bool:
        """Deliver a match.input synchronously to the channel's receiver; False if it must be queued."""
        receiver = self.receivers.get(channel)
        if receiver is None or message.get("type") != INPUT_TYPE:
            return False
        queue = self.channels.get(channel)
        if queue is not None and not queue.empty():
            return False
        call_receiver(receiver, message)
        return True

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send to one channel; a match.frame for a channel with a sink goes straight to it."""
        sink = self.sinks.get(channel) if message.get("type") == DIRECT_TYPE else None
        if sink is not None:
            call_sink(sink, message, {})
        elif not self.deliver_now(channel, message):
            await super().send(channel, message)

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + CLEAN_INTERVAL
        super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send a message to every member of a group (dropped for members whose queue is full)."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        expires = time.time() + self.expiry
        sinks = self.sinks if message.get("type") == DIRECT_TYPE else {}
        cache: dict[Any, Any] = {}
        for channel in list(members):
            sink = sinks.get(channel)
            if sink is not None:
                call_sink(sink, message, cache)
                continue
            queue = self.channels.get(channel)
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            try:
                queue.put_nowait((expires, _copy(message)))
            except asyncio.QueueFull:
                pass


def call_receiver(receiver: Receiver, message: dict[str, Any]) -> None:
    try:
        receiver(message)
    except Exception:  # the match's listener must go on
        logger.exception("direct delivery of %s failed", INPUT_TYPE)


def call_sink(sink: Sink, message: dict[str, Any], cache: dict[Any, Any]) -> None:
    try:
        sink(message, cache)
    except Exception:  # one broken socket must not stop the others' frames
        logger.exception("direct delivery of %s failed", message.get("type"))


_ATOMS = (str, bytes, int, float, bool, type(None))
_SHARED = (*_ATOMS, LazyEncodings)  # passed on as they are


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    """What deepcopy gives, faster for the common shape {str: atom | {str: atom}} (match frames)."""
    out: dict[str, Any] = {}
    for key, value in message.items():
        if isinstance(value, _SHARED):
            out[key] = value
        elif type(value) is dict and all(isinstance(v, _ATOMS) for v in value.values()):
            out[key] = dict(value)
        else:
            return deepcopy(message)
    return out
