"""Per-carrier circuit breakers (DESIGN §8): a carrier that keeps failing is skipped for a
cool-down, then tried again. No I/O; the clock is the caller's.

State is per container, on purpose: shared state would cost a table read per submission and a
write per failure, on the path of every recipient, to save each of at most
``DispatchMaxConcurrency`` containers its own ``failures`` wasted submissions per cool-down.
Skipping a carrier is always safe (its recipients fail over or wait for the retry schedule),
so containers disagreeing for a few seconds costs nothing but those submissions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(slots=True)
class _State:
    consecutive_failures: int = 0
    open_until: float | None = None


class CircuitBreakers:
    """Opens a carrier's breaker after ``failures`` submissions in a row in which it took
    nothing (each a batch: a failure is a carrier that answered no message, not one message it
    throttled among others it took); it half-opens ``cooldown_seconds`` later: one more
    failure opens it again, a success closes it."""

    def __init__(self, failures: int, cooldown_seconds: float) -> None:
        self.failures = failures
        self.cooldown_seconds = cooldown_seconds
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def allows(self, carrier: str, now: float) -> bool:
        with self._lock:
            state = self._states.get(carrier)
            if state is None or state.open_until is None:
                return True
            if now < state.open_until:
                return False
            # Half-open: let this try through; one more failure re-opens at once.
            state.open_until = None
            state.consecutive_failures = self.failures - 1
            return True

    def is_open(self, carrier: str, now: float) -> bool:
        """Whether the carrier is being skipped now (a look only: no half-opening)."""
        with self._lock:
            state = self._states.get(carrier)
            return state is not None and state.open_until is not None and now < state.open_until

    def record(self, carrier: str, *, succeeded: int, failed: int, now: float) -> bool:
        """Count one submission (a batch) by its results; True when this opened the breaker."""
        with self._lock:
            state = self._states.setdefault(carrier, _State())
            if succeeded:
                state.consecutive_failures = 0
                state.open_until = None
                return False
            if not failed:
                return False
            state.consecutive_failures += 1
            if state.open_until is None and state.consecutive_failures >= self.failures:
                state.open_until = now + self.cooldown_seconds
                return True
            return False
