"""What money (DESIGN §10) adds to a message's life: the lifecycle scenario run twice in the
same stack, with no prices and with a price covering every recipient and a balance that covers
the send, and the difference in write units and requests. ``python -m bench.money [COUNT...]``
prints the figures (they are not in ``make bench``'s report yet)."""

from __future__ import annotations

import json
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
