"""A merchant and a carrier on the running local stack, over HTTP only (issue 3's journeys)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack, sandbox_submissions
from tests.reliability import polite

pytestmark = pytest.mark.e2e

SANDBOX_OUTCOMES = {
    "+254712345678": ("delivered", None),
    "+254712340001": ("undelivered", 1402),
    "+254712340002": ("rejected", 1401),
    "+254712340003": ("expired", 1403),
    "+254712340004": ("failed", 1503),
    "+254712340005": ("delivered", None),
    "+254712340006": ("failed", 1502),
    "+254712340007": ("partially_delivered", 1404),
    "+254712340008": ("delivery_unknown", 1405),
    "+254712340009": ("delivered", None),
    "+254000000000": ("failed", 1400),
}


def headers(key: str) -> dict[str, str]:
    return {"app-key": key}


# The demo organization's throttle (10/s, bursts of 20) is shared by every test of the session:
# like a well-mannered merchant, these wait out a 429 instead of failing on it.
def send(stack: LocalStack, body: dict[str, Any], key: str | None = None, **extra: str) -> requests.Response:
    return polite.post(
        f"{stack.base_url}/send", json=body, headers={**headers(key or stack.app_key), **extra}, timeout=30
    )


def status(stack: LocalStack, message_id: str, key: str | None = None) -> requests.Response:
    return polite.get(f"{stack.base_url}/status/{message_id}", headers=headers(key or stack.app_key), timeout=10)


def wait_until_final(stack: LocalStack, message_id: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        reply = status(stack, message_id)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()["data"]
        if data["pending"] == 0 or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


def test_the_specs_polling_snippet_sees_delivered(local_stack: LocalStack) -> None:
    # The status page's own example, with only API_URL and the key filled in
    api_url, headers_ = local_stack.base_url, {"app-key": local_stack.app_key}
    message_id = send(local_stack, {"to": ["+254712345678"], "message": "Your code is 4821"}).json()["data"][
        "message_id"
    ]

    def wait_for_delivery(message_id: str, max_attempts: int = 3, delay: int = 2) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for _ in range(max_attempts):
            r = requests.get(f"{api_url}/status/{message_id}", headers=headers_, timeout=10)
            data = r.json()["data"]
            if data["status"] in ("delivered", "failed"):
                return data
            time.sleep(delay)
        return data

    data = wait_for_delivery(message_id)
    assert data["status"] == "delivered"
    assert (data["total_recipients"], data["delivered"], data["failed"], data["pending"]) == (1, 1, 0, 0)
    assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")


def test_one_number_per_sandbox_outcome_ends_in_its_state(local_stack: LocalStack) -> None:
    numbers = list(SANDBOX_OUTCOMES)
    reply = send(local_stack, {"to": numbers, "message": "every outcome"})
    assert reply.status_code == 200, reply.text
    data = wait_until_final(local_stack, reply.json()["data"]["message_id"])
    states = {recipient["to"]: (recipient["status"], recipient["error_code"]) for recipient in data["recipients"]}
    assert states == SANDBOX_OUTCOMES
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 3, 8, 0)
    # And no sandbox carrier got the same recipient twice for one attempt, nor did both take one
    received = sandbox_submissions(local_stack, reply.json()["data"]["message_id"])
    for submissions in received.values():
        attempts = [(entry["reference"], entry["attempt"]) for entry in submissions if entry["attempt"] is not None]
        assert len(attempts) == len(set(attempts))
    taken = [{e["reference"] for e in entries if e["outcome"] == "accepted"} for entries in received.values()]
    assert not set.intersection(*taken)


def test_unknown_malformed_and_other_tenant_ids_are_the_same_404(local_stack: LocalStack) -> None:
    message_id = send(local_stack, {"to": ["+254712345678"], "message": "mine"}).json()["data"]["message_id"]
    answers = {
        (response.status_code, response.content)
        for response in [
            status(local_stack, message_id, key=local_stack.second_app_key),
            status(local_stack, "0" * 24),
            status(local_stack, "not-a-message-id"),
            status(local_stack, message_id[:-1] + "Z"),
        ]
    }
    assert answers == {(404, b'{"detail":"Message not found"}')}


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "",
        "[]",
        '{"to": [], "message": "x"}',
        '{"to": ["+254712345678"], "message": ""}',
        '{"to": "+254712345678", "message": "x"}',
        '{"to": [254712345678], "message": "x"}',
        '{"to": ["call me maybe"], "message": "x"}',
        '{"to": ["+254712345678", "0712345678"], "message": "duplicate after normalising"}',
        '{"to": ["+254712345678"], "message": "x", "sender_id": "WAY-TOO-LONG-SENDER"}',
        '{"to": ["+254712345678"], "message": "x", "surprise": 1}',
        '{"to": ["+254712345678"], "message": "x", "scheduled_dates": ["2001-01-01T00:00:00Z"]}',
        '{"to": ["+254712345678"], "message": "x", "callback_url": "https://169.254.169.254/"}',
    ],
)
def test_malformed_sends_get_422_with_detail_never_5xx(local_stack: LocalStack, body: str) -> None:
    response = requests.post(
        f"{local_stack.base_url}/send",
        data=body.encode(),
        headers={**headers(local_stack.app_key), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_a_repeated_idempotency_key_sends_once(local_stack: LocalStack) -> None:
    body = {"to": ["+254712345678"], "message": "pay once"}
    first = send(local_stack, body, **{"Idempotency-Key": "e2e-order-77"})
    again = send(local_stack, body, **{"Idempotency-Key": "e2e-order-77"})
    other = send(local_stack, {**body, "message": "pay twice"}, **{"Idempotency-Key": "e2e-order-77"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert other.status_code == 422


def test_a_scheduled_send_is_released_on_time_and_delivered(local_stack: LocalStack) -> None:
    # Whole seconds: the instant the merchant asks for is what release must not precede.
    at = int(time.time()) + 3
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    reply = send(local_stack, {"to": ["+254712345678"], "message": "later", "scheduled_dates": [moment]})
    assert reply.status_code == 200, reply.text
    message_id = reply.json()["data"]["message_id"]
    assert status(local_stack, message_id).json()["data"]["status"] == "scheduled"
    data = wait_until_final(local_stack, message_id)
    assert data["status"] == "delivered"
    assert time.time() >= at


def test_cancelling_a_schedule_removes_what_is_not_released(local_stack: LocalStack) -> None:
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    reply = send(local_stack, {"to": ["+254712345678"], "message": "x", "scheduled_dates": [later]}).json()["data"]
    url = f"{local_stack.base_url}/schedules/{reply['schedule_id']}"
    assert requests.delete(url, headers=headers(local_stack.second_app_key), timeout=10).status_code == 404
    cancelled = requests.delete(url, headers=headers(local_stack.app_key), timeout=10)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["cancelled"] == [reply["message_id"]]
    assert status(local_stack, reply["message_id"]).status_code == 404
