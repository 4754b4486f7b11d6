"""The per-caller token bucket behind THROTTLED."""

from __future__ import annotations

from local.api_model import Throttle
from local.throttling import TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate_per_key() -> None:
    # Given 2 requests a second with a burst of 3
    clock = FakeClock()
    buckets = TokenBuckets(rate_per_second=2, burst=3, clock=clock)

    # When one caller sends 4 at once, then waits half a second
    burst = [buckets.allow("org-1") for _ in range(4)]
    clock.now += 0.5
    after_wait = buckets.allow("org-1")

    # Then the fourth is throttled, one token is back after 0.5 s, and other callers are unaffected
    assert burst == [True, True, True, False]
    assert after_wait is True
    assert buckets.allow("org-1") is False
    assert buckets.allow("org-2") is True


def test_keys_with_limits_of_their_own_and_changes_within_the_refresh() -> None:
    # Given a default of 10/s burst 10, and one organization limited to 1/s burst 2
    clock = FakeClock()
    own = {"org-small": Throttle(rate_per_second=1, burst=2)}
    buckets = TokenBuckets(10, 10, clock, limits_for=own.get, refresh_seconds=5)

    # Then that organization gets 2 at once and others the default 10
    assert [buckets.allow("org-small") for _ in range(3)] == [True, True, False]
    assert sum(buckets.allow("org-big") for _ in range(12)) == 10

    # When its limit is lifted, it applies once the refresh interval has passed
    own.pop("org-small")
    clock.now += 1
    assert buckets.allow("org-small") is True  # one token refilled at 1/s, old limit still cached
    assert buckets.allow("org-small") is False
    clock.now += 5
    assert sum(buckets.allow("org-small") for _ in range(20)) == 10
