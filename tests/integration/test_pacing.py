"""Pacing (DESIGN §8): a carrier's ``tps`` holds across concurrent dispatchers sharing the
table's per-second counters, measured at a loopback carrier."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

import pytest

from lisoloo import dependencies
from lisoloo.breaker import CircuitBreakers
from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.sandbox import SandboxCarrier as SandboxConnector
from lisoloo.pacing import Pacer
from lisoloo.storage.pacing import PaceCounters
from lisoloo.submitting import Routing
from local.sandbox_carrier import SandboxCarrier

TPS = 40
DISPATCHERS = 3
EACH = 40  # 120 submissions at 40 a second: three seconds or so


def per_second(stamps: list[str]) -> Counter[int]:
    return Counter(int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) for stamp in stamps)


@pytest.mark.usefixtures("harness")
def test_concurrent_dispatchers_never_push_a_carrier_past_its_tps() -> None:
    # Given a loopback carrier with tps 40, and three dispatchers, each its own container
    sandbox = SandboxCarrier(receipt_delay=60)
    sandbox.start()
    counters = PaceCounters(dependencies.repository().table)
    writes: list[int] = []
    original_take = counters.take

    def counted_take(carrier: str, second: int, wanted: int, limit: int) -> int:
        writes.append(1)
        return original_take(carrier, second, wanted, limit)

    counters.take = counted_take  # type: ignore[method-assign]

    def dispatcher(number: int) -> None:
        routing = Routing(
            routes=tuple,
            carrier_for=lambda name: SandboxConnector(sandbox.url, 5.0, name=name),
            default_carrier=None,
            breakers=CircuitBreakers(5, 30),
            tps_of=lambda name: TPS,
            acquire=Pacer(counters).acquire,
        )
        # Small batches, as chunks of several messages would come
        for start in range(0, EACH, 10):
            batch = [
                Submission(f"org_p.m{number}.{index}", "+254712345678", "hi", None, 1)
                for index in range(start, start + 10)
            ]
            results = routing.submit(f"paced-{id(counters)}", batch)
            assert {result.outcome for result in results} == {SubmitOutcome.ACCEPTED}

    try:
        # When they submit at once
        threads = [threading.Thread(target=dispatcher, args=(number,)) for number in range(DISPATCHERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        stamps = [entry["at"] for entry in sandbox.submissions()]
    finally:
        sandbox.stop()
    # Then everything arrived, and no second at the carrier held more than tps + 10 %
    assert len(stamps) == DISPATCHERS * EACH
    seconds = per_second(stamps)
    assert max(seconds.values()) <= TPS * 1.1, seconds
    # and the pace cost a write per block, not per recipient
    assert len(writes) <= DISPATCHERS * EACH / 5
