"""What money (DESIGN §10) adds to a message's life: the lifecycle scenario run twice in the
same stack, with no prices and with a price covering every recipient and a balance that covers
the send, and the difference in write units and requests. ``python -m bench.money [COUNT...]``
prints the figures; ``make bench`` reports them for the large case (rows 10)."""

from __future__ import annotations

import json
import statistics
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench import scenarios
from bench.stack import InProcessStack


def priced_lifecycle(stack: InProcessStack, count: int) -> dict[str, Any]:
    """The lifecycle with money on: Kenya priced, the merchant topped up (set-up, uncounted)."""
    from lisoloo.pricing import Price

    repository = stack.repository()
    original = stack.new_merchant

    def merchant_with_money(*, webhook: bool = True) -> Any:
        merchant = original(webhook=webhook)
        with stack.meter.paused():
            change = repository.accounts.change(
                merchant.org_id, "top_up", "BENCH", Decimal(count) * 2, datetime.now(UTC)
            )
            repository.accounts.apply(change)
        return merchant

    with stack.meter.paused():
        repository.prices.put(Price("KE", Decimal("0.80")), datetime.now(UTC))
    stack.new_merchant = merchant_with_money  # type: ignore[method-assign]
    try:
        return scenarios.lifecycle(stack, count)
    finally:
        stack.new_merchant = original  # type: ignore[method-assign]
        with stack.meter.paused():
            repository.prices.delete(None, "KE")


def money_overhead(stack: InProcessStack, count: int) -> dict[str, Any]:
    plain = scenarios.lifecycle(stack, count)
    priced = priced_lifecycle(stack, count)

    def per_recipient(figures: dict[str, Any], name: str) -> float:
        return float(figures[name]) / count

    return {
        "recipients": count,
        "correct": plain["correct"] and priced["correct"],
        "write_units_per_recipient": {
            "off": per_recipient(plain, "write_units") + per_recipient(plain, "index_write_units"),
            "on": per_recipient(priced, "write_units") + per_recipient(priced, "index_write_units"),
        },
        "extra_write_units_per_send": (priced["write_units"] + priced["index_write_units"])
        - (plain["write_units"] + plain["index_write_units"]),
        "extra_aws_requests_per_send": priced["aws_requests"] - plain["aws_requests"],
        "extra_dynamodb_requests": {
            name: priced["requests"].get(name, 0) - plain["requests"].get(name, 0)
            for name in sorted(set(priced["requests"]) | set(plain["requests"]))
            if priced["requests"].get(name, 0) != plain["requests"].get(name, 0)
        },
        "seconds": {"off": plain["seconds"], "on": priced["seconds"]},
    }


def send_latency(stack: InProcessStack, count: int, repetitions: int = 3) -> dict[str, Any]:
    """POST /send of ``count`` numbers with no prices and with a price covering them (and a
    balance that covers every send), alternating, after one warm-up each: the quote, the
    account read and the reservation's transaction are what "on" adds."""
    from lisoloo.pricing import Price

    repository = stack.repository()
    merchant = stack.new_merchant(webhook=False)
    batch = scenarios.numbers(count)
    with stack.meter.paused():
        top_up = Decimal(count) * 2 * (repetitions + 1)
        repository.accounts.apply(
            repository.accounts.change(merchant.org_id, "top_up", "BENCH-LATENCY", top_up, datetime.now(UTC))
        )
    samples: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for repetition in range(repetitions + 1):
            for label in ("off", "on") if repetition % 2 else ("on", "off"):
                with stack.meter.paused():
                    if label == "on":
                        repository.prices.put(Price("KE", Decimal("0.80")), datetime.now(UTC))
                    else:
                        repository.prices.delete(None, "KE")
                wall, _, _ = scenarios.timed(stack, lambda: stack.send(merchant, batch))
                stack.purge_dispatch_queue()
                if repetition:
                    samples[label].append(wall)
    finally:
        with stack.meter.paused():
            repository.prices.delete(None, "KE")
    return {
        "recipients": count,
        "off_seconds": statistics.median(samples["off"]),
        "on_seconds": statistics.median(samples["on"]),
        "ratio": statistics.median(samples["on"]) / statistics.median(samples["off"]),
        "repetitions": repetitions,
    }


def main(argv: list[str]) -> int:
    counts = [int(value) for value in argv] or [1, 100]
    stack = InProcessStack()
    try:
        for count in counts:
            print(json.dumps(money_overhead(stack, count), indent=2))
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
