"""The Redis side of match ownership: a lease with a fencing epoch, checkpoints, the live set.

Keys (all under `<CHANNEL_LAYER_PREFIX>:cluster:`):
- `lease:<id>`  "<worker>:<epoch>", PX = lease TTL. Only its holder ticks the match.
- `epoch:<id>`  an integer, INCR'd on every acquisition: the fencing token.
- `ckpt:<id>`   hash {data, at (Redis ms), epoch}: the last checkpoint.
- `log:<id>`    list of input-log chunks: what the checkpoints logged, in order (checkpoint.py).
- `live`        ZSET match id -> lease expiry (Redis ms); every worker scans it for expired leases.

Every write of the owner (renewal, checkpoint, release) is one Lua script that first compares the
lease value with the caller's token, so a worker that lost its lease cannot write anything.
Times come from Redis `TIME`, never from a worker's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis

_NOW = "local t = redis.call('time') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "

# KEYS: lease, epoch, ckpt, live, log. ARGV: worker, ttl_ms, match_id, checkpoint, keep_ms, fresh.
# Returns 0 when the lease is held (or, with fresh=1, when the match was ever owned before: a
# duplicate start), else {epoch, now, checkpoint or false, checkpoint time or false, log chunks}.
ACQUIRE = (
    _NOW
    + """
if ARGV[6] == '1' and redis.call('exists', KEYS[2]) == 1 then return 0 end
if not redis.call('set', KEYS[1], 'pending', 'NX', 'PX', ARGV[2]) then return 0 end
local e = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], ARGV[1] .. ':' .. e, 'PX', ARGV[2])
redis.call('zadd', KEYS[4], now + tonumber(ARGV[2]), ARGV[3])
if ARGV[4] ~= '' then
  redis.call('hset', KEYS[3], 'data', ARGV[4], 'at', now, 'epoch', e)
  redis.call('pexpire', KEYS[3], ARGV[5])
  redis.call('del', KEYS[5])
end
local c = redis.call('hmget', KEYS[3], 'data', 'at')
return {e, now, c[1], c[2], redis.call('lrange', KEYS[5], 0, -1)}
"""
)

# KEYS: lease, epoch, ckpt, live, log. ARGV: token, epoch, ttl_ms, match_id, checkpoint, keep_ms,
# chunk, chunks_before. Returns {result, stored}: result -1 (lost), 1 (renewed) or 2 (re-claimed:
# the lease was gone and nobody took over since, e.g. Redis restarted without its data, or this
# worker stalled past its TTL). With a checkpoint, the log list is cut back to the `chunks_before`
# chunks the caller knows were stored (a renewal that timed out on the caller's side may have
# appended one), the chunk is appended and the checkpoint stored: stored = 1. When the list holds
# fewer chunks than that (Redis lost them), nothing is stored (stored = 0): the caller sends its
# whole log again.
RENEW = (
    _NOW
    + """
local cur = redis.call('get', KEYS[1])
local result = 1
if cur ~= ARGV[1] then
  if cur then return -1 end
  local e = tonumber(redis.call('get', KEYS[2]) or '0')
  if e > tonumber(ARGV[2]) then return -1 end
  redis.call('set', KEYS[2], ARGV[2])
  result = 2
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('zadd', KEYS[4], now + tonumber(ARGV[3]), ARGV[4])
if ARGV[5] ~= '' then
  local before = tonumber(ARGV[8])
  if redis.call('llen', KEYS[5]) < before then return {result, 0} end
  if before == 0 then redis.call('del', KEYS[5]) else redis.call('ltrim', KEYS[5], 0, before - 1) end
  if ARGV[7] ~= '' then redis.call('rpush', KEYS[5], ARGV[7]) end
  redis.call('pexpire', KEYS[5], ARGV[6])
  redis.call('hset', KEYS[3], 'data', ARGV[5], 'at', now, 'epoch', ARGV[2])
  redis.call('pexpire', KEYS[3], ARGV[6])
end
return {result, 1}
"""
)

# KEYS: lease, live, ckpt, epoch, log. ARGV: token, match_id, mode ("handover" | "finished").
# handover: the lease goes, the match stays live with an expired score (others adopt it at once).
# finished: the lease, the checkpoint, its log and the live entry go.
RELEASE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
if ARGV[3] == 'finished' then
  redis.call('zrem', KEYS[2], ARGV[2])
  redis.call('del', KEYS[3], KEYS[5])
  redis.call('pexpire', KEYS[4], 600000)
else
  redis.call('zadd', KEYS[2], 0, ARGV[2])
end
return 1
"""

# KEYS: live. ARGV: limit. Match ids whose lease expired (by Redis time).
SCAN = (
    _NOW
    + """
return redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
"""
)

# KEYS: live, lease. ARGV: match_id. Forget a live entry nobody holds (no checkpoint left).
FORGET = """
if redis.call('exists', KEYS[2]) == 1 then return 0 end
return redis.call('zrem', KEYS[1], ARGV[1])
"""


@dataclass(frozen=True, slots=True)
class Acquired:
    """A lease just taken: its epoch, Redis time, and the checkpoint found (if any) with its log."""

    epoch: int
    now_ms: int
    checkpoint: bytes | None
    checkpoint_ms: int | None
    log: list[bytes]


@dataclass(frozen=True, slots=True)
class Renewed:
    """A renewal's answer: -1 lost, 1 renewed, 2 re-claimed; `stored`: the checkpoint was stored
    (False only when Redis holds fewer log chunks than the caller stored: it sends its whole log again)."""

    result: int
    stored: bool


class ClusterStore:
    """Leases, checkpoints and the live set of one cluster (one key prefix) in Redis."""

    def __init__(self, url: str, prefix: str, *, max_connections: int = 100) -> None:
        self.redis = redis.Redis.from_url(url, max_connections=max_connections, socket_timeout=5)
        self.prefix = f"{prefix}:cluster:"
        self._acquire = self.redis.register_script(ACQUIRE)
        self._renew = self.redis.register_script(RENEW)
        self._release = self.redis.register_script(RELEASE)
        self._scan = self.redis.register_script(SCAN)
        self._forget = self.redis.register_script(FORGET)

    def key(self, kind: str, match_id: str = "") -> str:
        """The Redis key of one kind (lease, epoch, ckpt, live) for a match."""
        return f"{self.prefix}{kind}:{match_id}" if match_id else f"{self.prefix}{kind}"

    def _keys(self, match_id: str) -> list[str]:
        keys = ("lease", "epoch", "ckpt")
        return [*(self.key(k, match_id) for k in keys), self.key("live"), self.key("log", match_id)]

    async def acquire(
        self, match_id: str, worker: str, ttl_ms: int, checkpoint: bytes = b"", keep_ms: int = 3_600_000
    ) -> Acquired | None:
        """Take a free lease (SET NX PX + INCR epoch); None when someone holds it.

        With a checkpoint given, this is a new match: refused if the match was ever owned before.
        """
        fresh = "1" if checkpoint else "0"
        args = [worker, ttl_ms, match_id, checkpoint, keep_ms, fresh]
        found = await self._acquire(keys=self._keys(match_id), args=args)
        if not found:
            return None
        epoch, now, data, at, log = found
        return Acquired(int(epoch), int(now), data or None, int(at) if at else None, list(log))

    async def renew(
        self,
        match_id: str,
        token: str,
        epoch: int,
        ttl_ms: int,
        checkpoint: bytes = b"",
        keep_ms: int = 3_600_000,
        *,
        chunk: bytes = b"",
        chunks_before: int = 0,
    ) -> Renewed:
        """Extend the lease and store a checkpoint with its new log chunk, fenced (see RENEW)."""
        args = [token, epoch, ttl_ms, match_id, checkpoint, keep_ms, chunk, chunks_before]
        found = await self._renew(keys=self._keys(match_id), args=args)
        if not isinstance(found, list):  # -1: lost
            return Renewed(int(found), False)
        return Renewed(int(found[0]), bool(found[1]))

    async def release(self, match_id: str, token: str, *, finished: bool) -> bool:
        """Give the lease up (finished: forget the match; else: leave it for another worker now)."""
        keys = [self.key("lease", match_id), self.key("live"), self.key("ckpt", match_id), self.key("epoch", match_id)]
        keys.append(self.key("log", match_id))
        mode = "finished" if finished else "handover"
        return bool(await self._release(keys=keys, args=[token, match_id, mode]))

    async def holds(self, match_id: str, token: str) -> bool:
        """Whether `token` is the lease's current value (the fencing check before a result write)."""
        value = await self.redis.get(self.key("lease", match_id))
        return value is not None and value.decode() == token

    async def expired(self, limit: int = 50) -> list[str]:
        """Live matches whose lease has expired (candidates for a takeover)."""
        return [m.decode() for m in await self._scan(keys=[self.key("live")], args=[limit])]

    async def forget(self, match_id: str) -> None:
        """Drop a live entry that nobody holds and that has nothing to resume from."""
        await self._forget(keys=[self.key("live"), self.key("lease", match_id)], args=[match_id])

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
