"""The local stack's console: one progress line while work is in flight, and the functions'
standard output (metrics) shown only when verbose."""

from __future__ import annotations

import io
from typing import Any

from local.console import FunctionOutput
from local.progress import MessageTally, ProgressReporter


def record(message_id: str, total: int, delivered: int = 0, failed: int = 0, released: bool = True) -> dict[str, Any]:
    image: dict[str, Any] = {
        "kind": {"S": "message"},
        "message_id": {"S": message_id},
        "total": {"N": str(total)},
        "delivered": {"N": str(delivered)},
        "failed": {"N": str(failed)},
    }
    if released:
        image["released_at"] = {"S": "2026-12-06T12:00:00.000Z"}
    return {"eventName": "MODIFY", "dynamodb": {"NewImage": image}}


def test_messages_are_in_flight_until_every_recipient_is_final() -> None:
    tally = MessageTally()
    tally.observe(record("a", 100))
    tally.observe(record("b", 10, delivered=4))
    tally.observe(record("c", 5, released=False))  # a scheduled occurrence: not in flight yet
    tally.observe({"dynamodb": {"NewImage": {"kind": {"S": "schedule"}}}})
    assert tally.counts() == (2, 106, 4)
    tally.observe(record("b", 10, delivered=8, failed=2))
    tally.observe(record("b", 10, delivered=8, failed=2))  # the same record again: a retried batch
    tally.observe(record("a", 100, delivered=30))
    assert tally.counts() == (1, 70, 40)


class Fixed:
    def __init__(self) -> None:
        self.queues = {"dispatch": 0, "receipts": 0}
        self.waiting = 0

    def queue_depths(self) -> tuple[dict[str, int], int]:
        return dict(self.queues), 0

    def carrier(self) -> dict[str, int]:
        return {"submitted": 10, "receipts waiting": self.waiting}


def test_a_line_while_busy_one_when_it_settles_and_none_while_idle() -> None:
    tally, fixed = MessageTally(), Fixed()
    reporter = ProgressReporter(tally, fixed.queue_depths, fixed.carrier)
    assert reporter.report() is None  # idle from the start: quiet
    tally.observe(record("a", 10))
    fixed.queues["dispatch"] = 1
    line = reporter.report()
    assert line is not None and line.startswith("1 message in flight (10 recipients)") and "dispatch 1" in line
    assert reporter.report() is None  # nothing new: no repeat
    tally.observe(record("a", 10, delivered=10))
    fixed.queues["dispatch"] = 0
    settled = reporter.report()
    assert settled is not None and settled.startswith("idle: 0 messages in flight") and "10 recipients final" in settled
    assert reporter.report() is None


def test_the_functions_output_shows_only_when_verbose() -> None:
    shown = io.StringIO()
    FunctionOutput(verbose=True, to=shown).write('{"_aws": {}}\n')
    FunctionOutput(verbose=False, to=shown).write('{"_aws": {"hidden": true}}\n')
    assert shown.getvalue() == '{"_aws": {}}\n'
