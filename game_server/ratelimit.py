"""A token bucket: `rate` tokens per second, holding at most `burst`."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows bursts up to `burst`, then `rate` events per second."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def ready(self, cost: float = 1.0) -> bool:
        """Whether `cost` tokens are there now (nothing spent)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= cost

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; False (and nothing spent) if not."""
        if not self.ready(cost):
            return False
        self.tokens -= cost
        return True
