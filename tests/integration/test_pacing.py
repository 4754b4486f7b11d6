"""Pacing (DESIGN §8): a carrier's ``tps`` holds across concurrent dispatchers sharing the
table's per-second counters, measured at a loopback carrier."""

from __future__ import annotations

from uuid import uuid4

import pytest

from lisoloo import dependencies
from lisoloo.carriers import SubmitOutcome
from local.paced_dispatchers import run_paced_dispatchers

TPS = 40
DISPATCHERS = 3
EACH = 40  # 120 submissions at 40 a second: three seconds or so


@pytest.mark.usefixtures("harness")
def test_concurrent_dispatchers_never_push_a_carrier_past_its_tps() -> None:
    # Given a loopback carrier with tps 40, and three dispatchers, each its own container
    # When they submit at once
    run = run_paced_dispatchers(
        dependencies.repository().table,
        f"paced-{uuid4().hex[:8]}",
        tps=TPS,
        dispatchers=DISPATCHERS,
        each=EACH,
        receipt_delay=60,
        wait_seconds=30,
    )
    # Then everything was taken, and no second at the carrier held more than tps + 10 %
    assert run.outcomes == {SubmitOutcome.ACCEPTED: DISPATCHERS * EACH}
    assert len(run.stamps) == DISPATCHERS * EACH
    seconds = run.per_second()
    assert max(seconds.values()) <= TPS * 1.1, seconds
    # and the pace cost a write per block, not per recipient
    assert run.takes <= DISPATCHERS * EACH / 5
