"""``LISOLOO_LOCAL_STATE=DIR``: a local stack stopped and started again on the same directory
keeps its messages, organizations, keys, carrier tokens and scheduled sends, and restoring
them replays nothing (no webhook again, nothing to the carrier again).

Two stacks of its own (the session's stack keeps no state): about 20 s."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack_process import local_stack_process
from tests.e2e.conftest import FAST_SETTINGS, STARTUP_TIMEOUT_SECONDS, LocalStack, admin, sandbox_submissions

pytestmark = pytest.mark.e2e

NUMBER = "+254712345678"


@contextmanager
def stack_on(state_dir: Path) -> Iterator[LocalStack]:
    environment = {**FAST_SETTINGS, **os.environ, "PYTHONUNBUFFERED": "1", "LISOLOO_LOCAL_STATE": str(state_dir)}
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
        local_stack_process(environment, stdout, stderr, timeout=STARTUP_TIMEOUT_SECONDS) as ready,
    ):
        yield ready


def send(stack: LocalStack, key: str, **fields: Any) -> str:
    answer = requests.post(
        f"{stack.base_url}/send",
        json={"to": [NUMBER], "message": "kept", **fields},
        headers={"app-key": key},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    message_id: str = answer.json()["data"]["message_id"]
    return message_id


def status(stack: LocalStack, key: str, message_id: str) -> requests.Response:
    return requests.get(f"{stack.base_url}/status/{message_id}", headers={"app-key": key}, timeout=10)


def wait_for(stack: LocalStack, key: str, message_id: str, wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = status(stack, key, message_id).json()["data"]["status"]
        if seen == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"{message_id} is {seen}, not {wanted}, after {timeout} s")


def webhook_message_ids(stack: LocalStack) -> list[str]:
    received = requests.get(stack.demo_webhook_url, timeout=10).json()["webhooks"]
    return [json.loads(hook["body"])["data"]["message_id"] for hook in received]


def receipt(stack: LocalStack, carrier: str, token: str) -> int:
    return requests.post(
        f"{stack.base_url}/receipts/{carrier}",
        json={"carrier_ref": "unknown", "status": "delivered", "error_code": None, "done_at": "2026-05-27T10:15:08Z"},
        headers={"x-carrier-token": token},
        timeout=10,
    ).status_code


def test_a_restart_on_the_same_directory_keeps_the_state_and_replays_nothing(tmp_path: Path) -> None:
    # Given a stack on a state directory, with an organization, a key and a carrier token made
    # by the CLI, a message delivered (its webhooks received) and a send scheduled a little later
    with stack_on(tmp_path) as first:
        created = admin(first, "create-org", "Restart shop")
        kannel = admin(first, "register-carrier", "kannel")["receipt_token"]
        delivered = send(first, first.app_key)
        wait_for(first, first.app_key, delivered, "delivered")
        other = send(first, created["app_key"])
        deadline = time.monotonic() + 10
        while delivered not in webhook_message_ids(first) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert delivered in webhook_message_ids(first)
        due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6))
        scheduled = send(first, first.app_key, scheduled_dates=[due])
        assert status(first, first.app_key, scheduled).json()["data"]["status"] == "scheduled"

    # When it is stopped and started again on the same directory
    with stack_on(tmp_path) as second:
        # Then the messages are there, under the same keys, and the tokens still open receipts
        assert second.app_key == first.app_key
        assert status(second, first.app_key, delivered).json()["data"]["status"] == "delivered"
        assert status(second, created["app_key"], other).status_code == 200
        assert receipt(second, "sandbox", first.carrier_token) == 200
        assert receipt(second, "kannel", kannel) != 401
        assert receipt(second, "kannel", "lct_wrong") == 401

        # And the scheduled send goes out when due, once
        wait_for(second, first.app_key, scheduled, "delivered")
        assert sum(map(len, sandbox_submissions(second).values())) == 1

        # And nothing restored was replayed: no webhook for what was delivered before the stop
        time.sleep(1.5)
        assert delivered not in webhook_message_ids(second)
        assert other not in webhook_message_ids(second)
        assert scheduled in webhook_message_ids(second)
