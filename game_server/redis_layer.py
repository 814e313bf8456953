"""channels-redis's pub/sub layer (CHANNEL_LAYER=pubsub) with the one-process fast paths.

Stock `RedisPubSubChannelLayer` costs ~400 µs of server CPU per delivered frame in the arena
benchmark (docs/benchmarks.md), about ten times the in-memory layer's cost, for three reasons,
each fixed here:

1. **Every recipient decodes every frame again.** The layer puts the raw message into each
   member's queue; each consumer wakes, deserializes it and dispatches it. Here a consumer may
   register a *sink* for its channel (`register_sink`, from `game_server.channel_layer.DirectDelivery`,
   as in the in-memory layer): a `match.frame` arriving for a group with
   sinks among its members is deserialized once and handed to each sink synchronously, with a
   dict shared by that message's recipients (the built websocket frame is cached there). Other
   messages, and members without a sink, keep the queue.
2. **Every publish waits for its own round trip, one at a time.** The stock layer publishes under
   a per-connection lock, so a process's publishes are serialized on the wire. Here `send` and
   `group_send` append to the shard's outgoing batch and wait for it; one task writes each batch
   as a single pipeline (one write, one read for all its PUBLISH replies). Batches go in order
   and a message joins the batch open when the call is made, so messages leave in call order.
3. **Every input waits on two queues.** `deliver_now` publishes a `match.input` at once from
   daphne's receive path (`ProtocolConsumer.receive_now`), without a wait: it joins the batch like
   any send, behind anything sent before it, so a player's `match.join` still reaches the engine
   before their first input. A batch that fails on a connection Redis closed (after a restart) is
   written once more on a new one; a batch that fails again is logged and its messages are lost, as
   the pub/sub layer loses anything published while Redis is away (the engine marks the match and
   resyncs; a player sees a lost input in the frames' acks). On the engine's side, a match's
   channel may have a *receiver* (`register_receiver`, as in the in-memory layer): a `match.input`
   arriving while nothing is queued for the channel is decoded and handed to it synchronously,
   without waking the match's listening task; with something queued it takes the queue, behind it.

Pub/sub drops a message nobody is subscribed to, where the core layer keeps it in a list. A `send`
(not a `group_send`) that reached no subscriber is therefore kept and published again (backing off
from 20 ms to 0.5 s) until someone reads the channel, for up to `HOLD_SECONDS`; later messages to
that channel wait behind it. This is the first `match.join` to a new match, whose engine may not
have subscribed to the match's channel yet (a lost join left the seat away and the match
forfeited), and `engine.start` while no engine runs. After `HOLD_SECONDS` the messages are dropped
with a warning (a socket that went away, say). Two small costs: a message to a channel that is gone
is retried for `HOLD_SECONDS`, and a message delivered in the same instant a subscriber arrives may
land before the held one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer as _RedisPubSubChannelLayer
from channels_redis.pubsub import RedisPubSubLoopLayer, RedisSingleShardConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from game_server.channel_layer import DIRECT_TYPE, INPUT_TYPE, DirectDelivery, call_receiver, call_sink

logger = logging.getLogger(__name__)

#: How long a message sent to a channel nobody subscribes to yet is kept and retried.
HOLD_SECONDS = 5.0


class RedisPubSubChannelLayer(DirectDelivery, _RedisPubSubChannelLayer):
    """The pub/sub layer with direct frame sinks, batched publishes and inputs sent without a wait."""

    #: Messages cross processes (so they must be plain data, not protocol.LazyEncodings).
    in_process = False
    #: A group is each process's own subscription: only a socket's own process can add it.
    groups_in_redis = False

    def deliver_now(self, channel: str, message: dict[str, Any]) -> bool:
        """Publish a match.input now, without waiting for Redis; False for any other message."""
        if message.get("type") != INPUT_TYPE:
            return False
        layer = self._get_layer()
        layer._get_shard(channel).publish_soon(channel, self.serialize(message))
        return True

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = super()._get_layer()
            layer._shards = [_Shard(shard.host, layer) for shard in layer._shards]
        return layer


class _Shard(RedisSingleShardConnection):
    """One Redis connection of the layer: batched publishes, sinks on the receiving side."""

    def __init__(self, host: dict[str, Any], channel_layer: RedisPubSubLoopLayer) -> None:
        super().__init__(host, channel_layer)
        self._batch: list[tuple[str, bytes]] = []
        self._sent: asyncio.Future[None] | None = None  # resolved when the open batch is written
        self._writer: asyncio.Task[None] | None = None
        # Messages `send` to channels that had no subscriber yet, and those after them, in order.
        self._held: dict[str, deque[bytes]] = {}
        self._retries: set[asyncio.Task[None]] = set()
        self._groups_prefix = channel_layer._get_group_channel_name("")

    async def publish(self, channel: str, message: bytes) -> None:
        await asyncio.shield(self.publish_soon(channel, message))

    def publish_soon(self, channel: str, message: bytes) -> asyncio.Future[None]:
        """Add a PUBLISH to the open batch; the future resolves (or fails) when it is written."""
        held = self._held.get(channel)
        if held is not None:  # behind a message waiting for the channel's first subscriber
            held.append(message)
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        self._batch.append((channel, message))
        if self._sent is None:
            self._sent = asyncio.get_running_loop().create_future()
            self._sent.add_done_callback(_retrieve)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return self._sent

    async def _write(self) -> None:
        while self._batch:
            batch, self._batch = self._batch, []
            sent, self._sent = self._sent, None
            assert sent is not None
            if self._held:  # (batched before a message to the same channel was held: behind it)
                for channel, message in [item for item in batch if item[0] in self._held]:
                    self._held[channel].append(message)
                batch = [item for item in batch if item[0] not in self._held]
            try:
                try:
                    await self._publish(batch)
                except (OSError, RedisConnectionError):  # (ConnectionError is an OSError)
                    # The first command on a pooled connection that Redis closed (it restarted)
                    # fails, and redis-py drops that connection: write the batch once more.
                    await self._publish(batch)
            except Exception as exc:
                if not sent.done():
                    sent.set_exception(exc)
            else:
                if not sent.done():
                    sent.set_result(None)

    async def _publish(self, batch: list[tuple[str, bytes]]) -> None:
        self._ensure_redis()
        pipe = self._redis.pipeline(transaction=False)
        for channel, message in batch:
            pipe.publish(channel, message)
        receivers = await pipe.execute()
        for (channel, message), count in zip(batch, receivers, strict=True):
            if count == 0 and not channel.startswith(self._groups_prefix):
                self._hold(channel, message)

    def _hold(self, channel: str, message: bytes) -> None:
        """A message to a channel nobody reads yet: keep it, and what follows, until someone does."""
        held = self._held.get(channel)
        if held is None:
            held = self._held[channel] = deque()
            task = asyncio.get_running_loop().create_task(self._retry(channel, held))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        held.append(message)

    async def _retry(self, channel: str, held: deque[bytes]) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        delay = 0.02
        try:
            while held and time.monotonic() < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
                try:
                    while held and await self._redis.publish(channel, held[0]) > 0:
                        held.popleft()
                except Exception as exc:  # Redis away: keep trying until the deadline
                    logger.debug("publishing held messages to %s failed (%r)", channel, exc)
            if held:
                logger.warning(
                    "nobody subscribed to %s within %.1fs: %s messages dropped", channel, HOLD_SECONDS, len(held)
                )
        finally:
            self._held.pop(channel, None)

    async def flush(self) -> None:
        for task in list(self._retries):
            task.cancel()
        self._held.clear()
        await super().flush()

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        layer = self.channel_layer
        name = message["channel"]
        data = message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        decoded: dict[str, Any] | None = None
        if name in layer.channels:
            members: Any = (name,)
            receiver = layer.channel_layer.receivers.get(name)
            if receiver is not None and layer.channels[name].empty():
                decoded = layer.channel_layer.deserialize(data)
                if decoded.get("type") == INPUT_TYPE:
                    call_receiver(receiver, decoded)
                    return
        elif name in layer.groups:
            members = list(layer.groups[name])
        else:
            return
        sinks = layer.channel_layer.sinks
        cache: dict[Any, Any] = {}
        for channel in members:
            sink = sinks.get(channel)
            if sink is not None:
                if decoded is None:
                    decoded = layer.channel_layer.deserialize(data)
                if decoded.get("type") == DIRECT_TYPE:
                    call_sink(sink, decoded, cache)
                    continue
            queue = layer.channels.get(channel)
            if queue is not None:
                queue.put_nowait(data)


_warned = [0.0]  # when the last failed batch was logged


def _retrieve(sent: asyncio.Future[None]) -> None:
    """A batch that failed, whether or not anyone waited for it: logged (at most every 5 s)."""
    if sent.cancelled() or sent.exception() is None:
        return
    now = time.monotonic()
    if now - _warned[0] >= 5.0:
        _warned[0] = now
        logger.warning("publishing to Redis failed; the batch's messages are lost (%r)", sent.exception())
