"""The e2e ring: one local stack (``python -m local``) per test session, driven over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.infrastructure import DEFAULT_STACK_NAME
from local.moto_server import aws_environment
from local.stack_process import ReadyInfo, local_stack_process

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60

# Short delays so whole lifecycles run in seconds; a variable already set in the
# environment wins, so a developer can slow one down to watch it.
# Receipts come 1.1 to 2 s after a submit: realistic (over the second under which a delivered
# receipt reads as fake) and still quick. Route quality works in 5 s buckets over a minute, and
# judges a carrier on 100 finals with a delivery-rate floor the sandboxes' failing numbers never
# reach, so only fake_dlr demotes one (tests/e2e/test_route_quality.py), and a demoted sandbox
# comes back a minute later; dispatchers read a carrier's state every 2 s, not 30.
FAST_SETTINGS = {
    "LISOLOO_SANDBOX_RECEIPT_DELAY": "1.1,1.3,2",
    "LISOLOO_LOCAL_SWEEP_SECONDS": "1",
    "LISOLOO_DELIVERY_TIMEOUT_SECONDS": "6",
    "LISOLOO_CARRIER_RETRY_DELAYS": "0,1,2",
    "CARRIER_CONFIG_CACHE_SECONDS": "2",
    "LISOLOO_LOCAL_PARAMETERS": "WebhookFirstRetrySeconds=1 WebhookMaxAttempts=3"
    " RouteQualityBucketSeconds=5 RouteQualityWindowBuckets=12 RouteDemotionMinFinals=100"
    " RouteDemotionDeliveryRate=0.2 RouteDemotionFastShare=0.5",
}


# What the stack prints once it serves: its URLs, demo app-keys and carrier token.
LocalStack = ReadyInfo


def admin(stack: LocalStack, *arguments: str) -> Any:
    """``python -m lisoloo_admin --stack lisoloo-local --json ...`` as an operator runs it against the local stack."""
    result = subprocess.run(
        [sys.executable, "-m", "lisoloo_admin", "--stack", DEFAULT_STACK_NAME, "--json", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **aws_environment(stack.moto_url)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sandbox_submissions(stack: LocalStack, message_id: str = "") -> dict[str, list[dict[str, Any]]]:
    """What each sandbox carrier received (``GET /submissions``), by carrier name."""
    query = f"?message_id={message_id}" if message_id else ""
    urls = {"sandbox": stack.sandbox_url, "sandbox-b": stack.sandbox_b_url}
    return {name: requests.get(f"{url}/submissions{query}", timeout=10).json() for name, url in urls.items()}


def sandbox_control(stack: LocalStack, carrier: str, mode: str) -> None:
    url = stack.sandbox_url if carrier == "sandbox" else stack.sandbox_b_url
    answer = requests.post(f"{url}/control", json={"mode": mode}, timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    environment = {**FAST_SETTINGS, **os.environ, "PYTHONUNBUFFERED": "1"}
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
        local_stack_process(environment, stdout, stderr, timeout=STARTUP_TIMEOUT_SECONDS) as ready,
    ):
        yield ready
