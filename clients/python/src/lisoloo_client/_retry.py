"""When to try a request again, and how long to wait first: the same for both clients.

Retried: 429 (rate limited), 409 (a send with the same Idempotency-Key still in progress: the
API says "retry shortly"), 5xx, and requests that got no answer. Never any other 4xx: it
would fail the same way again. Waits are exponential with full jitter (a random time between
0 and the cap, so clients that failed together do not retry together), unless the answer's
``Retry-After`` (seconds or an HTTP date) says how long.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRIED_STATUSES = frozenset({409, 429})
# No answer at all: refused, reset, cut short or timed out. Not a bad URL or protocol: those stay bad.
RETRIED_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited for: the backoff applies instead.
    max_retry_after: float = 60.0
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def wait_before_retry(self, retry: int, outcome: httpx.Response | httpx.TransportError) -> float | None:
        """Seconds to wait before retry number ``retry`` (0 for the first), or None: ``outcome`` stands."""
        if retry >= self.max_retries:
            return None
        if isinstance(outcome, httpx.Response):
            if outcome.status_code in RETRIED_STATUSES or outcome.status_code >= 500:
                return self.delay(retry, outcome.headers.get("retry-after"))
            return None
        return self.delay(retry) if isinstance(outcome, RETRIED_ERRORS) else None

    def delay(self, retry: int, retry_after: str | None = None, now: datetime | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        asked = parse_retry_after(retry_after, now or datetime.now(UTC))
        if asked is not None and asked <= self.max_retry_after:
            return asked
        return self.jitter(0.0, min(self.max_delay, self.base_delay * 2**retry))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)
