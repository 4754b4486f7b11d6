"""Per-caller token buckets: the hook for API Gateway's usage-plan throttling (429 THROTTLED).

Off unless a rate is configured; usage plans from the template arrive in a later change, which
only has to build a ``TokenBuckets`` from them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


class TokenBuckets:
    """``rate_per_second`` steady requests per key, bursts up to ``burst`` (API Gateway's model)."""

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and a burst of at least 1")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Takes one token from ``key``'s bucket; False when it is empty."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=float(self.burst), updated_at=now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated_at) * self.rate_per_second)
            bucket.updated_at = now
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True
