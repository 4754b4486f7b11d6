"""Concurrent dispatchers sharing one carrier's pace (DESIGN §8) against a loopback sandbox
carrier: each with its own Routing and Pacer, as separate Lambda containers would be, over the
table's shared per-second counters. What the pacing test asserts and the bench reports."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from lisoloo.breaker import CircuitBreakers
from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.sandbox import SandboxCarrier as SandboxConnector
from lisoloo.pacing import Pacer
from lisoloo.storage.pacing import PaceCounters
from lisoloo.storage.table import Table
from lisoloo.submitting import Routing
from local.sandbox_carrier import SandboxCarrier

# Submissions per call: small batches, as chunks of several messages would come.
BATCH = 10


@dataclass(frozen=True, slots=True)
class PacedRun:
    stamps: list[str]  # when the carrier took each submission
    takes: int  # blocks taken from the shared counters: one conditional write each
    outcomes: Counter[SubmitOutcome]

    def per_second(self) -> Counter[int]:
        """Submissions the carrier took in each second."""
        return Counter(int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) for stamp in self.stamps)


def run_paced_dispatchers(
    table: Table, carrier: str, *, tps: int, dispatchers: int, each: int, receipt_delay: float, wait_seconds: float
) -> PacedRun:
    """``dispatchers`` threads submit ``each`` recipients apiece, at once, to ``carrier`` paced at
    ``tps``; the carrier's receipts come ``receipt_delay`` seconds later (after the run: none
    is wanted)."""
    sandbox = SandboxCarrier(receipt_delay=receipt_delay)
    sandbox.start()
    counters = PaceCounters(table)
    takes: list[int] = []
    outcomes: Counter[SubmitOutcome] = Counter()
    lock = threading.Lock()
    take = counters.take

    def counted_take(name: str, second: int, wanted: int, limit: int) -> int:
        with lock:
            takes.append(1)
        return take(name, second, wanted, limit)

    counters.take = counted_take  # type: ignore[method-assign, assignment]

    def dispatcher(number: int) -> None:
        routing = Routing(
            routes=tuple,
            carrier_for=lambda name: SandboxConnector(sandbox.url, 5.0, name=name),
            default_carrier=None,
            breakers=CircuitBreakers(5, 30),
            tps_of=lambda name: tps,
            acquire=Pacer(counters).acquire,
        )
        for start in range(0, each, BATCH):
            batch = [
                Submission(f"org_p.m{number}.{index}", "+254712345678", "hi", None, 1)
                for index in range(start, start + BATCH)
            ]
            results = routing.submit(carrier, batch)
            with lock:
                outcomes.update(result.outcome for result in results)

    try:
        threads = [threading.Thread(target=dispatcher, args=(number,)) for number in range(dispatchers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=wait_seconds)
        stamps = [entry["at"] for entry in sandbox.submissions()]
    finally:
        sandbox.stop()
    return PacedRun(stamps=stamps, takes=len(takes), outcomes=outcomes)
