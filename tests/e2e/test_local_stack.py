"""The local stack's gateway over HTTP: routing, the app-key authorizer, gateway responses,
and one message through every local piece (gateway, queue poller, sandbox carrier, receipts)."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack, sandbox_submissions

pytestmark = pytest.mark.e2e

INVALID_KEY = {"detail": "Invalid or missing app-key"}


def test_unknown_route_is_the_templates_404(local_stack: LocalStack) -> None:
    # Given a path no function declares, and a declared path with an undeclared method
    # When they are requested, with or without a key
    answers = [
        requests.get(f"{local_stack.base_url}/nowhere", timeout=10),
        requests.get(f"{local_stack.base_url}/nowhere", headers={"app-key": local_stack.app_key}, timeout=10),
        requests.delete(f"{local_stack.base_url}/send", headers={"app-key": local_stack.app_key}, timeout=10),
    ]

    # Then API Gateway's MISSING_AUTHENTICATION_TOKEN answers with the template's 404 envelope
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Not Found"}
        assert answer.headers["Content-Type"] == "application/json"


def test_missing_app_key_is_401(local_stack: LocalStack) -> None:
    # Given no app-key header
    # When a merchant route is called
    answer = requests.post(f"{local_stack.base_url}/send", json={"to": ["+254712345678"], "message": "hi"}, timeout=10)

    # Then the gateway refuses it before any function runs
    assert answer.status_code == 401
    assert answer.json() == INVALID_KEY


def test_wrong_app_key_is_401_with_the_same_body(local_stack: LocalStack) -> None:
    # Given a key that belongs to no organization
    # When a merchant route is called with it
    answer = requests.get(
        f"{local_stack.base_url}/status/0123456789abcdef01234567",
        headers={"app-key": "lsk_wrong"},
        timeout=10,
    )

    # Then the answer is indistinguishable from a missing key
    assert answer.status_code == 401
    assert answer.json() == INVALID_KEY


def test_valid_app_key_reaches_the_function(local_stack: LocalStack) -> None:
    # Given the demo organization's key
    # When it asks for a message that does not exist
    answer = requests.get(
        f"{local_stack.base_url}/status/0123456789abcdef01234567",
        headers={"app-key": local_stack.app_key},
        timeout=10,
    )

    # Then the status function answered (not the gateway)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Message not found"}


def test_receipts_route_needs_no_app_key(local_stack: LocalStack) -> None:
    # Given a receipt from the sandbox carrier for a reference nobody knows, without app-key
    receipt = {
        "carrier_ref": "unknown-ref",
        "status": "delivered",
        "error_code": None,
        "done_at": "2026-05-27T10:15:08Z",
    }

    # When the carrier posts it with its token
    answer = requests.post(
        f"{local_stack.base_url}/receipts/sandbox",
        json=receipt,
        headers={"x-carrier-token": local_stack.carrier_token},
        timeout=10,
    )

    # Then the receipts function answered 200 (carriers retry anything else)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "body", [b"\xff\xfe\xfd", random.Random(14).randbytes(1_000_000)], ids=["not-utf8", "a-megabyte-of-random-bytes"]
)
def test_a_receipt_body_that_is_not_text_is_answered_2xx(local_stack: LocalStack, body: bytes) -> None:
    # Given bytes that are not UTF-8, posted as a carrier's receipt (issue 14: they were a 422,
    # which a carrier resends forever)
    answer = requests.post(
        f"{local_stack.base_url}/receipts/sandbox",
        data=body,
        headers={"x-carrier-token": local_stack.carrier_token, "Content-Type": "application/json"},
        timeout=30,
    )

    # Then the gateway passes them on as API Gateway does, and the receipts function answers 2xx
    assert (answer.status_code, answer.json()["data"]) == (200, {"received": 0})


def _wait_for_status(local_stack: LocalStack, message_id: str, wanted: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{local_stack.base_url}/status/{message_id}",
            headers={"app-key": local_stack.app_key},
            timeout=10,
        )
        data = answer.json()["data"]
        if data["status"] == wanted:
            return data
        time.sleep(0.1)
    pytest.fail(f"{message_id} stayed {data.get('status')!r}, never {wanted!r}: {data}")


def test_a_message_goes_through_every_local_piece(local_stack: LocalStack) -> None:
    # Given the demo organization
    headers = {"app-key": local_stack.app_key}

    # When it sends one text to a deliverable sandbox number
    sent = requests.post(
        f"{local_stack.base_url}/send",
        json={"to": ["+254712345678"], "message": "hi"},
        headers=headers,
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]

    # Then the dispatch poller submits it, the sandbox posts a receipt, and status reports it delivered
    data = _wait_for_status(local_stack, message_id, "delivered")
    assert (data["delivered"], data["failed"], data["pending"]) == (1, 0, 0)

    # And the carrier received it, and no reference to that number was ever submitted twice
    submissions = [entry for received in sandbox_submissions(local_stack, message_id).values() for entry in received]
    to_number = [submission for submission in submissions if submission["to"] == "+254712345678"]
    assert to_number, "the sandbox carrier never received the message"
    assert all(submission["attempt"] == 1 for submission in to_number)


def test_another_organizations_key_cannot_see_the_message(local_stack: LocalStack) -> None:
    # Given a message of the demo organization, and the authorizer's cache warm with its key
    sent = requests.post(
        f"{local_stack.base_url}/send",
        json={"to": ["+254712345678"], "message": "private"},
        headers={"app-key": local_stack.app_key},
        timeout=10,
    )
    message_id = sent.json()["data"]["message_id"]

    # When the second organization asks for it
    answer = requests.get(
        f"{local_stack.base_url}/status/{message_id}",
        headers={"app-key": local_stack.second_app_key},
        timeout=10,
    )

    # Then it is not found: the cached authorization of one key is never reused for another
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Message not found"}
