"""The local stack as a child process (``python -m local``): the line it prints once it
serves, and starting, waiting for and stopping it, for the e2e and carrier tests,
``make load`` and ``make bench``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
READY_MARKER = "LISOLOO_LOCAL_READY"


@dataclass(frozen=True)
class ReadyInfo:
    base_url: str
    app_key: str
    second_app_key: str
    carrier_token: str
    sandbox_url: str
    moto_url: str
    webhook_inspector_url: str
    demo_webhook_url: str
    demo_webhook_secret: str
    # Where the stack keeps its state across restarts; None: in memory, lost at Ctrl-C.
    state_dir: str | None = None
    # The second sandbox carrier (``sandbox-b``), behind the same ``*`` route (DESIGN §8).
    sandbox_b_url: str = ""
    # The demo organization (the app-key's): what ``lisoloo-admin balance top-up`` needs.
    org_id: str = ""
    # The web console (console/), on the gateway's origin.
    console_url: str = ""

    def ready_line(self) -> str:
        return f"{READY_MARKER} {json.dumps(asdict(self))}"


class StackDidNotStartError(RuntimeError):
    pass


@contextmanager
def local_stack_process(
    environment: Mapping[str, str], stdout: IO[str], stderr: IO[str], *, port: int = 0, timeout: float = 60
) -> Iterator[ReadyInfo]:
    """Runs ``python -m local`` until the block ends. Its output goes to files, not pipes:
    nobody reads its logs while it serves, and a full pipe would block it."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=ROOT,
        env=dict(environment),
        stdout=stdout,
        stderr=stderr,
    )
    try:
        yield _wait_until_ready(process, stdout, stderr, timeout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], stdout: IO[str], stderr: IO[str], timeout: float) -> ReadyInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stdout.seek(0)
        for line in stdout.read().splitlines():
            if line.startswith(f"{READY_MARKER} "):
                return ReadyInfo(**json.loads(line[len(READY_MARKER) + 1 :]))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stderr.seek(0)
    raise StackDidNotStartError(
        f"the local stack did not become ready (exit code {process.poll()}); its stderr:\n{stderr.read()[-5000:]}"
    )
