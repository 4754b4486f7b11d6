"""Per-key token buckets: API Gateway's usage-plan throttling (429 THROTTLED) on the local stack.

The default limit is the template's usage plan (``MerchantUsagePlan``'s Throttle); an
organization with limits of its own (``lisoloo-admin rate-limit``, which in AWS moves its API key
to a plan of its own) has them in its table item, looked up through ``limits_for`` and re-read
every ``refresh_seconds``, so a change takes effect within seconds, as in AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from local.api_model import Throttle


@dataclass
class _Bucket:
    tokens: float
    updated_at: float
    limit: Throttle
    limit_read_at: float


class TokenBuckets:
    """``rate_per_second`` steady requests per key, bursts up to ``burst`` (API Gateway's model)."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        limits_for: Callable[[str], Throttle | None] | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a throttle needs a positive rate and a burst of at least 1")
        self.default = Throttle(rate_per_second=rate_per_second, burst=burst)
        self._clock = clock
        self._limits_for = limits_for
        self._refresh_seconds = refresh_seconds
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def rate_per_second(self) -> float:
        return self.default.rate_per_second

    @property
    def burst(self) -> int:
        return self.default.burst

    def allow(self, key: str) -> bool:
        """Takes one token from ``key``'s bucket; False when it is empty."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            stale = bucket is None or now - bucket.limit_read_at >= self._refresh_seconds
        # Read outside the lock: a table lookup must not hold up every other caller.
        limit = self._limit(key) if stale else None
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                fresh = limit or self.default
                bucket = self._buckets[key] = _Bucket(float(fresh.burst), now, fresh, now)
            elif limit is not None:
                bucket.limit, bucket.limit_read_at = limit, now
                bucket.tokens = min(bucket.tokens, float(limit.burst))
            rate, burst = bucket.limit.rate_per_second, bucket.limit.burst
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated_at) * rate)
            bucket.updated_at = now
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True

    def _limit(self, key: str) -> Throttle:
        own = self._limits_for(key) if self._limits_for is not None else None
        return own or self.default


def organization_limits(table_name: str) -> Callable[[str], Throttle | None]:
    """The limits an organization has of its own (``lisoloo-admin rate-limit``), from its item."""
    # Imported here: the layer reads settings at import, after the stack set the environment.
    from lisoloo.storage import SmsRepository

    repository = SmsRepository(table_name)

    def limits_for(org_id: str) -> Throttle | None:
        organization = repository.organizations.get(org_id)
        if organization is None or organization.rate_limit is None or organization.burst_limit is None:
            return None
        return Throttle(rate_per_second=float(organization.rate_limit), burst=organization.burst_limit)

    return limits_for
