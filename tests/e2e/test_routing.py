"""Failover on the local stack (DESIGN §8): two sandbox carriers behind one ``*`` route, one
set to refuse, watched as an operator would (sandbox control, /submissions, lisoloo-admin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import LocalStack, admin, sandbox_control, sandbox_submissions
from tests.e2e.test_merchant_journeys import send, wait_until_final


@pytest.fixture
def refusing_b(local_stack: LocalStack) -> Iterator[None]:
    sandbox_control(local_stack, "sandbox-b", "refuse")
    yield
    sandbox_control(local_stack, "sandbox-b", "ok")


def test_a_refusing_carrier_loses_nothing_and_nothing_is_taken_twice(local_stack: LocalStack, refusing_b: None) -> None:
    # Given the * route over sandbox and sandbox-b, and sandbox-b refusing everything
    routes = admin(local_stack, "routes", "list")
    assert [(route["match"], route["carriers"]) for route in routes] == [("*", ["sandbox:1", "sandbox-b:1"])]
    # When a 200-number send goes out
    numbers = [f"+25471{index:07d}" for index in range(100, 300)]
    reply = send(local_stack, {"to": numbers, "message": "failover"})
    assert reply.status_code == 200, reply.text
    message_id = reply.json()["data"]["message_id"]
    data = wait_until_final(local_stack, message_id, seconds=60)
    # Then every number is delivered, through sandbox
    assert (data["status"], data["delivered"], data["failed"]) == ("delivered", 200, 0)
    received = sandbox_submissions(local_stack, message_id)
    taken = {
        name: {e["reference"] for e in entries if e["outcome"] == "accepted"} for name, entries in received.items()
    }
    assert len(taken["sandbox"]) == 200
    assert taken["sandbox-b"] == set()
    # and sandbox-b was asked at most for its first-choice share (about half), each number once
    # (its breaker, open or not when this starts, only ever makes that fewer)
    refused = [entry["reference"] for entry in received["sandbox-b"]]
    assert len(refused) == len(set(refused)) <= 150
    assert len(refused) == len(set(refused))
    # And the operator sees the carrier that took each recipient
    org_id = next(iter(taken["sandbox"])).split(".")[0]
    shown = admin(local_stack, "messages", "show", org_id, message_id)
    assert {(row["carrier"], row["attempts"]) for row in shown["recipients"]} == {("sandbox", 1)}
