"""Route quality on the local stack (DESIGN §8): a sandbox reporting fake receipts (``fake_dlr``:
every message delivered at once) is demoted by the sweep and its traffic moves to the other,
as an operator watches it with ``lisoloo-admin routes stats``.

The test stack judges a carrier on 100 finals in 5 s buckets, with a fast-receipt ceiling of
0.5 (tests/e2e/conftest.py), so a few hundred numbers show it in seconds; its honest sandboxes
answer 1.1 to 2 s after a submit, never fast."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LocalStack, admin, sandbox_control, sandbox_submissions
from tests.e2e.test_merchant_journeys import send, wait_until_final


@pytest.fixture
def faking_b(local_stack: LocalStack) -> Iterator[None]:
    sandbox_control(local_stack, "sandbox-b", "fake_dlr")
    yield
    sandbox_control(local_stack, "sandbox-b", "ok")


def send_message(stack: LocalStack, prefix: str, count: int) -> str:
    reply = send(stack, {"to": [f"{prefix}{index:06d}" for index in range(100, 100 + count)], "message": "quality"})
    assert reply.status_code == 200, reply.text
    message_id: str = reply.json()["data"]["message_id"]
    return message_id


def kenya_stats(stack: LocalStack, carrier: str) -> dict[str, Any]:
    """The carrier's route quality for Kenya over the last 3 minutes (``{}`` before any)."""
    rows = admin(stack, "routes", "stats", "--carrier", carrier, "--country", "KE", "--hours", "0.05")
    return dict(rows[0]) if rows else {}


def test_a_carrier_sending_fake_receipts_is_demoted_and_its_traffic_moves(
    local_stack: LocalStack, faking_b: None
) -> None:
    # Given sandbox-b reporting every message delivered at once, behind `*` with sandbox
    # When a few hundred numbers go out (about half through each), in messages of 10: a receipt
    # is timed from the start of the dispatch run that submitted it, and a small chunk keeps
    # that start close to the submit on a busy machine
    sent = [send_message(local_stack, f"+2547{batch:02d}", 10) for batch in range(10, 40)]
    for message_id in sent:
        assert wait_until_final(local_stack, message_id, seconds=60)["pending"] == 0
    # Then the sweep demotes sandbox-b within seconds, and routes stats says why
    deadline = time.monotonic() + 30
    while not (kenya := kenya_stats(local_stack, "sandbox-b")).get("demoted") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kenya["demoted"], json.dumps(kenya)
    assert "fast receipts" in kenya["demotion_reason"]
    assert kenya["fast_receipt_share"] > 0.5 and kenya["delivered"] >= 100
    # while sandbox, answering in seconds, is not demoted and its receipts are not fast (but for
    # other tests' …0009 numbers, whose receipt outruns the record of the hand-off on purpose)
    honest = kenya_stats(local_stack, "sandbox")
    assert not honest["demoted"] and honest["fast_receipt_share"] < 0.05 and honest["receipt_latency_ms"]["p50"] > 1_000
    # When the next send goes out, once dispatchers have read the demotion (every 2 s here)
    time.sleep(3)
    message_id = send_message(local_stack, "+254714", 100)
    assert wait_until_final(local_stack, message_id, seconds=60)["pending"] == 0
    # Then sandbox took every number and sandbox-b was not asked
    received = sandbox_submissions(local_stack, message_id)
    assert len({entry["reference"] for entry in received["sandbox"] if entry["outcome"] == "accepted"}) == 100
    assert received["sandbox-b"] == []
