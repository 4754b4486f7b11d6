"""The per-caller token bucket behind THROTTLED."""

from __future__ import annotations

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
