"""A carrier's ``tps`` across every concurrent dispatcher (DESIGN §8): submissions are granted
in blocks from a per-second counter in the table, and a dispatcher whose second is full
waits for the next one."""

from __future__ import annotations

import time
from collections.abc import Callable

from lisoloo.storage.pacing import PaceCounters


class Pacer:
    def __init__(
        self,
        counters: PaceCounters,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._sleep = sleep

    def acquire(self, carrier: str, tps: int, wanted: int, give_up_at: float) -> int:
        """How many of ``wanted`` submissions may go to ``carrier`` now (at most ``tps`` a
        second across all dispatchers); waits for a second with room, until ``give_up_at``
        (wall-clock seconds), then 0."""
        while True:
            now = self._clock()
            second = int(now)
            granted = self._counters.take(carrier, second, min(wanted, tps), tps)
            if granted:
                return granted
            if second + 1 >= give_up_at:
                return 0
            self._sleep(second + 1 - now)
