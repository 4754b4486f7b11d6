"""Routing's figures (DESIGN §8): a lifecycle through a two-carrier route, one carrier refusing
everything (its write units per recipient, and what each failed-over recipient costs over the
same lifecycle on one carrier), and pacing accuracy with concurrent dispatchers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench import scenarios
from bench.stack import FakeCarrier, InProcessStack

ROUTED = 1_000
PACED_TPS = 40
PACED_DISPATCHERS = 3
PACED_EACH = 40


class RefusingCarrier:
    """A carrier that answers every submission "not taken" (throttled), counting its calls."""

    receipt_acknowledgement: str | None = None

    def __init__(self, name: str, on_call: Any) -> None:
        self.name = name
        self._on_call = on_call
        self.refused = 0

    def submit(self, submissions: Sequence[Any]) -> list[Any]:
        from lisoloo.carriers import SubmitOutcome, SubmitResult

        self._on_call()
        self.refused += len(submissions)
        return [SubmitResult(s.reference, SubmitOutcome.TRANSIENT, error_code="THROTTLED") for s in submissions]

    def parse_receipts(self, request: Any) -> list[Any]:
        raise AssertionError("it never takes anything")


def _set_star_route(stack: InProcessStack, *carriers: str) -> None:
    from lisoloo import dependencies
    from lisoloo.routing import Route, RouteTarget

    repository = stack.repository()
    if carriers:
        repository.routes.put(Route("*", tuple(RouteTarget(name) for name in carriers)), datetime.now(UTC))
    else:
        repository.routes.delete(None, "*")
    dependencies.route_book.cache_clear()
    dependencies.circuit_breakers.cache_clear()


def failover(stack: InProcessStack, count: int = ROUTED) -> dict[str, Any]:
    """The same lifecycle twice: on the implicit one-carrier route, then through ``*`` →
    ``sandbox-b:1 sandbox:1`` with sandbox-b refusing everything (its breaker opens after 5:
    later chunks skip it without a request)."""
    from bench.stack import _count_carrier_call

    dispatch = stack.runner.module(stack.runner.logical_id("dispatch"))
    plain = scenarios.lifecycle(stack, count)
    refusing = RefusingCarrier("sandbox-b", on_call=lambda: stack.meter.add(_count_carrier_call))
    fleet: dict[str, FakeCarrier | RefusingCarrier] = {"sandbox": stack.carrier, "sandbox-b": refusing}
    original = dispatch.carrier_connector
    dispatch.carrier_connector = fleet.get  # type: ignore[attr-defined]
    with stack.meter.paused():
        _set_star_route(stack, "sandbox-b", "sandbox")
    try:
        routed = scenarios.lifecycle(stack, count)
        with stack.meter.paused():
            shown = stack.repository().recipients.read_all(routed["org_id"], routed["message_id"])[1]
    finally:
        dispatch.carrier_connector = original  # type: ignore[attr-defined]
        with stack.meter.paused():
            _set_star_route(stack)
    carriers = Counter(row.carrier for row in shown.values())
    # Recipients whose first choice was sandbox-b: the hash split, the same as dispatch drew it.
    from lisoloo.routing import Route, RouteTarget, carrier_order

    route = Route("*", (RouteTarget("sandbox-b"), RouteTarget("sandbox")))
    references = [f"{routed['org_id']}.{routed['message_id']}.{index}" for index in range(count)]
    first_choice_b = sum(1 for reference in references if carrier_order(route, reference)[0] == "sandbox-b")
    # Refused live (before sandbox-b's breaker opened): these moved carriers mid-attempt.
    live = refusing.refused
    return {
        "plain": plain,
        "routed": routed,
        "carriers": dict(carriers),
        "first_choice_refusing": first_choice_b,
        "failed_over": live,
        "extra_requests_per_failover": (routed["aws_requests"] - plain["aws_requests"]) / max(live, 1),
        "extra_write_units_per_failover": (routed["write_units"] - plain["write_units"]) / max(live, 1),
        "extra_carrier_calls": routed["carrier_calls"] - plain["carrier_calls"],
    }


def pacing(stack: InProcessStack) -> dict[str, Any]:
    """Three dispatchers at once against one loopback sandbox at tps 40: the busiest second
    at the carrier ÷ tps, and the pacing writes per recipient."""
    from local.paced_dispatchers import run_paced_dispatchers

    run = run_paced_dispatchers(
        stack.repository().table,
        f"paced-{datetime.now(UTC).timestamp():.0f}",
        tps=PACED_TPS,
        dispatchers=PACED_DISPATCHERS,
        each=PACED_EACH,
        receipt_delay=600,
        wait_seconds=60,
    )
    seconds = run.per_second()
    submitted = len(run.stamps)
    return {
        "tps": PACED_TPS,
        "submitted": submitted,
        "busiest_second": max(seconds.values()),
        "accuracy": max(seconds.values()) / PACED_TPS,
        # One conditional write per block taken (at most two: the block, then what is left);
        # batches of 10 here, so about a tenth; a 100-recipient chunk costs about a hundredth.
        "writes_per_recipient": run.takes / max(submitted, 1),
    }
