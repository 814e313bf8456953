"""A token bucket: `rate` tokens per second, holding at most `burst`."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows bursts up to `burst`, then `rate` events per second."""

    __slots__ = ("burst", "clock", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; False (and nothing spent) if not."""
        now = self.clock()
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens < cost:
            self.tokens = tokens
            return False
        self.tokens = tokens - cost
        return True

    def give_back(self, cost: float = 1.0) -> None:
        """Undo a `take` of `cost` whose event did not happen after all."""
        self.tokens = min(self.burst, self.tokens + cost)
