"""Two-way on the running local stack (DESIGN §9), over HTTP as people would: the README's walk
through "reply STOP, a send to that number fails 1406, then START"."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack, admin
from tests.e2e.test_merchant_journeys import send, status
from tests.reliability import polite

pytestmark = pytest.mark.e2e

CUSTOMER = "+254712345600"
OUR_NUMBER = "+254711000222"


def mo(stack: LocalStack, text: str) -> dict[str, Any]:
    """The customer's handset texts our number, through the sandbox carrier."""
    reply = requests.post(
        f"{stack.sandbox_url}/mo", json={"from": CUSTOMER, "to": OUR_NUMBER, "text": text}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def suppressions(stack: LocalStack, key: str) -> list[str]:
    reply = polite.get(f"{stack.base_url}/suppressions", headers={"app-key": key}, timeout=10)
    assert reply.status_code == 200, reply.text
    return [entry["number"] for entry in reply.json()["data"]["suppressions"]]


def final_of_a_send(stack: LocalStack, key: str, seconds: float = 30) -> dict[str, Any]:
    sent = send(stack, {"to": [CUSTOMER], "message": "Flash sale today"}, key)
    assert sent.status_code == 200, sent.text
    deadline = time.monotonic() + seconds
    while True:
        reply = status(stack, sent.json()["data"]["message_id"], key)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()["data"]
        if data["pending"] == 0 or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


def test_reply_stop_then_a_send_fails_1406_then_start(local_stack: LocalStack) -> None:
    # Given an organization the operator gave a number
    created = admin(local_stack, "create-org", "Two-way shop")
    key = created["app_key"]
    admin(local_stack, "numbers", "assign", created["org_id"], OUR_NUMBER)
    # When the customer replies STOP
    assert mo(local_stack, "STOP") == {"stored": 1, "duplicates": 0}
    # Then the merchant sees the reply and the number on its suppression list
    inbound = polite.get(f"{local_stack.base_url}/inbound", headers={"app-key": key}, timeout=10).json()["data"]
    assert [(entry["from"], entry["text"], entry["keyword"]) for entry in inbound["inbound"]] == [
        (CUSTOMER, "STOP", "STOP")
    ]
    assert suppressions(local_stack, key) == [CUSTOMER]
    # And a send to the number fails 1406 OPTED_OUT, never reaching the carrier
    data = final_of_a_send(local_stack, key)
    assert (data["status"], data["error_code"]) == ("failed", 1406)
    assert data["recipients"][0]["error_message"] == "OPTED_OUT"
    submitted = requests.get(
        f"{local_stack.sandbox_url}/submissions", params={"message_id": data["message_id"]}, timeout=10
    ).json()
    assert submitted == []
    # When the customer replies START
    assert mo(local_stack, "start")["stored"] == 1
    # Then the number is off the list and the next send is delivered
    deadline = time.monotonic() + 5
    while suppressions(local_stack, key) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert suppressions(local_stack, key) == []
    assert final_of_a_send(local_stack, key)["status"] == "delivered"


def test_the_suppressions_api_over_http(local_stack: LocalStack) -> None:
    key = admin(local_stack, "create-org", "List keeper")["app_key"]
    base, headers = local_stack.base_url, {"app-key": key}
    bulk = polite.post(f"{base}/suppressions", json={"numbers": ["0712 000 001", "+254712000002"]}, headers=headers)
    assert (bulk.status_code, bulk.json()["data"]) == (200, {"suppressed": 2})
    # A number written with its "+" in the path, escaped or not
    put = polite.put(f"{base}/suppressions/%2B254712000003", json={"reason": "phone call"}, headers=headers)
    assert (put.status_code, put.json()["data"]["number"]) == (200, "+254712000003")
    assert suppressions(local_stack, key) == ["+254712000001", "+254712000002", "+254712000003"]
    gone = polite.delete(f"{base}/suppressions/+254712000001", headers=headers)
    assert gone.status_code == 200, gone.text
    assert suppressions(local_stack, key) == ["+254712000002", "+254712000003"]
