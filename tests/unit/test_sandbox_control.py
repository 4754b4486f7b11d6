"""The sandbox's control modes (DESIGN §8) as the layer's connector reads them: which answers
prove the message was not taken (fail over) and which leave it uncertain (same carrier only)."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.sandbox import SandboxCarrier as SandboxConnector
from local.sandbox_carrier import SandboxCarrier

NUMBER = "+254712345678"


@pytest.fixture
def sandbox() -> Iterator[SandboxCarrier]:
    carrier = SandboxCarrier(receipt_delay=0.05)
    carrier.start()
    yield carrier
    carrier.stop()


def control(sandbox: SandboxCarrier, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"{sandbox.url}/control", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def submit(sandbox: SandboxCarrier, timeout: float = 2.0) -> SubmitOutcome:
    connector = SandboxConnector(sandbox.url, timeout, name="sandbox-b")
    (result,) = connector.submit([Submission("org_a.m.0", NUMBER, "hi", None, 1)])
    return result.outcome


@pytest.mark.parametrize(
    ("mode", "outcome", "taken"),
    [
        ("ok", SubmitOutcome.ACCEPTED, True),
        ("fake_dlr", SubmitOutcome.ACCEPTED, True),
        # Definite refusals: nothing taken, so the next carrier may have it now
        ("refuse", SubmitOutcome.TRANSIENT, False),
        ("503", SubmitOutcome.TRANSIENT, False),
        ("throttle", SubmitOutcome.TRANSIENT, False),
    ],
)
def test_each_mode_reads_as_taken_or_provably_not(
    sandbox: SandboxCarrier, mode: str, outcome: SubmitOutcome, taken: bool
) -> None:
    # Given the sandbox in the mode
    assert control(sandbox, {"mode": mode})[0] == 200
    # When the connector submits one number
    assert submit(sandbox) is outcome
    # Then the sandbox took it exactly when the connector says so
    assert [entry["outcome"] == "accepted" for entry in sandbox.submissions()] == [taken]


def test_a_slow_answer_is_uncertain_though_the_carrier_took_it(sandbox: SandboxCarrier) -> None:
    control(sandbox, {"mode": "slow", "slow_seconds": 1.0})
    assert submit(sandbox, timeout=0.3) is SubmitOutcome.UNCERTAIN
    assert [entry["outcome"] for entry in sandbox.submissions()] == ["accepted"]


def test_a_refused_connection_is_provably_not_taken() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    connector = SandboxConnector(f"http://127.0.0.1:{port}", 1.0)
    (result,) = connector.submit([Submission("org_a.m.0", NUMBER, "hi", None, 1)])
    assert result.outcome is SubmitOutcome.TRANSIENT


def test_an_unknown_mode_is_refused_with_the_list(sandbox: SandboxCarrier) -> None:
    code, body = control(sandbox, {"mode": "chaos"})
    assert code == 400
    assert "refuse" in str(body["modes"])
    assert sandbox.mode == "ok"
