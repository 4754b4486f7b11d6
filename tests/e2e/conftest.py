"""The e2e ring: one local stack (``python -m local``) per test session, driven over HTTP."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack_process import ReadyInfo, local_stack_process

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 60

# Short delays so whole lifecycles run in seconds; a variable already set in the
# environment wins, so a developer can slow one down to watch it.
FAST_SETTINGS = {
    "LISOLOO_SANDBOX_RECEIPT_DELAY": "0.05",
    "LISOLOO_LOCAL_SWEEP_SECONDS": "1",
    "LISOLOO_DELIVERY_TIMEOUT_SECONDS": "6",
    "LISOLOO_CARRIER_RETRY_DELAYS": "0,1,2",
    "LISOLOO_LOCAL_PARAMETERS": "WebhookFirstRetrySeconds=1 WebhookMaxAttempts=3",
}


# What the stack prints once it serves: its URLs, demo app-keys and carrier token.
LocalStack = ReadyInfo


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    environment = {**FAST_SETTINGS, **os.environ, "PYTHONUNBUFFERED": "1"}
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
        local_stack_process(environment, stdout, stderr, timeout=STARTUP_TIMEOUT_SECONDS) as ready,
    ):
        yield ready
