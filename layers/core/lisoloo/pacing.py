"""A carrier's ``tps`` across every concurrent dispatcher (DESIGN §8): submissions are granted
in blocks from a per-second counter in the table, and a dispatcher whose second is full
waits for the next one.

A block is granted for one epoch second and must go out within it: late in a second (the last
``LATE_IN_SECOND``) a dispatcher takes its block from the next second instead and waits for
it to begin, so a block cannot spill into a second whose own blocks were granted in full.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lisoloo.storage.pacing import PaceCounters

# Past this fraction of a second, blocks are taken from the next second.
LATE_IN_SECOND = 0.8


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
        (wall-clock seconds), then 0. Costs one conditional write per block (two when the
        block does not fit whole), never one per recipient."""
        while True:
            now = self._clock()
            second = int(now) + (1 if now - int(now) >= LATE_IN_SECOND else 0)
            if second >= give_up_at:
                return 0
            granted = self._counters.take(carrier, second, min(wanted, tps), tps)
            if granted:
                if second > now:
                    self._sleep(second - now)  # taken from the next second: wait for it
                return granted
            self._sleep(max(0.0, second + 1 - self._clock()))
