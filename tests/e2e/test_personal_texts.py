"""Personal texts on the running local stack (DESIGN §12), as a merchant and the carrier see them."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.stack_process import local_stack_process
from tests.e2e.conftest import FAST_SETTINGS, STARTUP_TIMEOUT_SECONDS, LocalStack, sandbox_submissions

pytestmark = pytest.mark.e2e


def _submitted_texts(stack: LocalStack, message_id: str, count: int) -> dict[str, str]:
    """The texts the sandbox carriers received for ``message_id``, by number, once ``count`` arrived."""
    deadline = time.monotonic() + 20
    texts: dict[str, str] = {}
    while time.monotonic() < deadline:
        received = sandbox_submissions(stack, message_id).values()
        texts = {entry["to"]: entry["text"] for entries in received for entry in entries}
        if len(texts) >= count:
            return texts
        time.sleep(0.2)
    return texts


def test_a_personal_send_reaches_the_carrier_as_three_texts(local_stack: LocalStack) -> None:
    # Given a template and three recipients with their own values
    sent = requests.post(
        f"{local_stack.base_url}/send",
        json={
            "to": [
                {"to": "+254712345678", "vars": {"name": "Amina", "code": "4821"}},
                {"to": "+254733000011", "vars": {"name": "Baraka", "code": "1193"}},
                {"to": "+254722000012", "vars": {"name": "Chidi", "code": "7702"}},
            ],
            "message": "Hi {{name}}, your code is {{code}}",
        },
        headers={"app-key": local_stack.app_key},
        timeout=10,
    )
    # Then the reply counts three one-part texts
    assert sent.status_code == 200, sent.text
    data = sent.json()["data"]
    assert (data["segments"], data["segments_total"]) == (1, 3)
    # And the sandbox's /submissions shows each recipient's own rendered text
    assert _submitted_texts(local_stack, data["message_id"], 3) == {
        "+254712345678": "Hi Amina, your code is 4821",
        "+254733000011": "Hi Baraka, your code is 1193",
        "+254722000012": "Hi Chidi, your code is 7702",
    }


# --- validity periods -----------------------------------------------------------------------

# Retries far enough apart that the validity (60 s, the least allowed) ends while the 0006
# number waits for its second retry; the timeout leaves the last attempt a sweep period.
VALIDITY_SETTINGS = {"LISOLOO_CARRIER_RETRY_DELAYS": "0,20,120", "LISOLOO_DELIVERY_TIMEOUT_SECONDS": "130"}


@pytest.fixture(scope="module")
def slow_retry_stack() -> Iterator[LocalStack]:
    environment = {**FAST_SETTINGS, **os.environ, **VALIDITY_SETTINGS, "PYTHONUNBUFFERED": "1"}
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
        local_stack_process(environment, stdout, stderr, timeout=STARTUP_TIMEOUT_SECONDS) as ready,
    ):
        yield ready


def test_a_send_whose_validity_ends_during_retries_expires_unsent(slow_retry_stack: LocalStack) -> None:
    # Given a one-minute validity to a number every carrier attempt fails (sandbox 0006)
    stack = slow_retry_stack
    started = time.monotonic()
    sent = requests.post(
        f"{stack.base_url}/send",
        json={"to": ["+254712340006"], "message": "code 4821", "validity_period": 60},
        headers={"app-key": stack.app_key},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]
    # When the minute passes (bounded: 90 s at most)
    data: dict[str, Any] = {}
    while time.monotonic() - started < 90:
        data = requests.get(
            f"{stack.base_url}/status/{message_id}", headers={"app-key": stack.app_key}, timeout=10
        ).json()["data"]
        if data["status"] == "failed":
            break
        time.sleep(1)
    # Then it ended expired 1403 after about a minute, tried twice (each attempt over both
    # sandboxes of the route) and never a third time
    assert (data["status"], data["recipients"][0]["status"], data["error_code"]) == ("failed", "expired", 1403)
    assert 55 <= time.monotonic() - started <= 90
    tried = [entry for entries in sandbox_submissions(stack, message_id).values() for entry in entries]
    assert sorted(entry["attempt"] for entry in tried) == [1, 1, 2, 2], tried
    assert all(entry["validity_period"] <= 60 for entry in tried)
