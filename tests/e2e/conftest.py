"""The e2e ring: one local stack (``python -m local``) per test session, driven over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_MARKER = "LISOLOO_LOCAL_READY "
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


@dataclass(frozen=True)
class LocalStack:
    base_url: str
    app_key: str
    second_app_key: str
    carrier_token: str
    sandbox_url: str
    moto_url: str
    webhook_inspector_url: str
    demo_webhook_url: str
    demo_webhook_secret: str


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    environment = {**FAST_SETTINGS, **os.environ, "PYTHONUNBUFFERED": "1"}
    # Files, not pipes: nobody reads the stack's logs while tests run, and a full pipe would block it.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "--port", "0"],
            cwd=ROOT,
            env=environment,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            yield _wait_until_ready(process, stdout, stderr)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], stdout: IO[str], stderr: IO[str]) -> LocalStack:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        stdout.seek(0)
        for line in stdout.read().splitlines():
            if line.startswith(READY_MARKER):
                return LocalStack(**json.loads(line[len(READY_MARKER) :]))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stderr.seek(0)
    logs = stderr.read()[-5000:]
    process.kill()
    pytest.fail(f"the local stack did not become ready (exit code {process.poll()}); its stderr:\n{logs}")
