"""The sandbox carrier: its outcome table, and the HTTP protocol the layer's connector speaks."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.sandbox_carrier import SandboxCarrier, SandboxOutcome, sandbox_outcome


@pytest.mark.parametrize(
    ("number", "attempt", "expected"),
    [
        ("+254712345678", 1, SandboxOutcome("accepted", receipt="delivered")),
        ("+254712340001", 1, SandboxOutcome("accepted", receipt="undelivered", receipt_error_code="1")),
        (
            "+254712340002",
            1,
            SandboxOutcome("rejected", error_code="REJECTD", error_message="Sender or content rejected by the carrier"),
        ),
        ("+254712340003", 1, SandboxOutcome("accepted", receipt="expired")),
        ("+254712340004", 1, SandboxOutcome("accepted", receipt=None)),
        (
            "+254712340005",
            1,
            SandboxOutcome("transient", error_code="THROTTLED", error_message="Carrier busy, retry later"),
        ),
        (
            "+254712340005",
            2,
            SandboxOutcome("transient", error_code="THROTTLED", error_message="Carrier busy, retry later"),
        ),
        ("+254712340005", 3, SandboxOutcome("accepted", receipt="delivered")),
        (
            "+254712340006",
            7,
            SandboxOutcome("transient", error_code="THROTTLED", error_message="Carrier busy, retry later"),
        ),
        ("+254712340007", 1, SandboxOutcome("accepted", receipt="partially_delivered")),
        ("+254712340008", 1, SandboxOutcome("accepted", receipt="delivery_unknown")),
        ("+254712340009", 1, SandboxOutcome("accepted", receipt="delivered", receipt_before_reply=True)),
        ("+254712340010", 1, SandboxOutcome("accepted", receipt="delivered")),
    ],
)
def test_outcome_by_last_four_digits(number: str, attempt: int, expected: SandboxOutcome) -> None:
    # Given a number and the attempt; When the sandbox decides; Then DESIGN §5's table holds
    assert sandbox_outcome(number, attempt) == expected


class ReceiptSink:
    """A stand-in receipts endpoint: records every POST; answers 500 to the first ``fail_first``."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.fail_first = fail_first
        self.calls = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sink.calls += 1
                status = 500 if sink.calls <= sink.fail_first else 200
                if status == 200:
                    sink.received.append((body, self.headers.get("x-carrier-token")))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/receipts/sandbox"

    def wait_for(self, count: int, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def sink() -> Iterator[ReceiptSink]:
    receiver = ReceiptSink()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def carrier(sink: ReceiptSink) -> Iterator[SandboxCarrier]:
    sandbox = SandboxCarrier(receipt_delay=0.05)
    sandbox.start()
    sandbox.configure_receipts(sink.url, "token-1")
    yield sandbox
    sandbox.stop()


def _submit(carrier: SandboxCarrier, *messages: tuple[str, str]) -> list[dict[str, Any]]:
    payload = {
        "messages": [
            {"reference": reference, "to": to, "text": "hi", "sender_id": None, "segments": 1}
            for reference, to in messages
        ]
    }
    request = urllib.request.Request(
        f"{carrier.url}/submit",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        results: list[dict[str, Any]] = json.loads(response.read())["results"]
        return results


def test_submit_answers_in_order_and_receipts_follow(carrier: SandboxCarrier, sink: ReceiptSink) -> None:
    # Given a batch with a deliverable, a rejected and a never-receipted number
    # When it is submitted
    results = _submit(carrier, ("r1", "+254712345678"), ("r2", "+254712340002"), ("r3", "+254712340004"))

    # Then the results come back in order, with our reference as the carrier's
    assert [(r["reference"], r["outcome"], r["carrier_ref"]) for r in results] == [
        ("r1", "accepted", "r1"),
        ("r2", "rejected", None),
        ("r3", "accepted", "r3"),
    ]
    assert results[1]["error_code"] == "REJECTD"

    # And only r1 gets a receipt, posted with the carrier token
    sink.wait_for(1)
    time.sleep(0.2)
    assert len(sink.received) == 1
    receipt, token = sink.received[0]
    assert token == "token-1"
    assert receipt["carrier_ref"] == "r1"
    assert receipt["status"] == "delivered"
    assert receipt["error_code"] is None
    assert receipt["done_at"].endswith("Z")


def test_the_smpp_race_receipt_arrives_before_the_reply(carrier: SandboxCarrier, sink: ReceiptSink) -> None:
    # Given a ...0009 number; When it is submitted
    _submit(carrier, ("r9", "+254712340009"))

    # Then its receipt was already posted and answered when the submit reply came back
    assert [receipt["carrier_ref"] for receipt, _ in sink.received] == ["r9"]


def test_attempts_are_counted_per_reference(carrier: SandboxCarrier, sink: ReceiptSink) -> None:
    # Given a ...0005 number submitted three times under one reference
    outcomes = [_submit(carrier, ("r5", "+254712340005"))[0]["outcome"] for _ in range(3)]

    # Then two transient answers come before the acceptance, and /submissions lists each attempt
    assert outcomes == ["transient", "transient", "accepted"]
    with urllib.request.urlopen(f"{carrier.url}/submissions", timeout=5) as response:
        submissions = json.loads(response.read())
    assert [(s["reference"], s["to"], s["attempt"]) for s in submissions] == [
        ("r5", "+254712340005", 1),
        ("r5", "+254712340005", 2),
        ("r5", "+254712340005", 3),
    ]
    # And ?message_id= lists only the submits whose reference names it
    _submit(carrier, ("org.msg_b.0", "+254712345678"))
    with urllib.request.urlopen(f"{carrier.url}/submissions?message_id=msg_b", timeout=5) as response:
        assert [s["reference"] for s in json.loads(response.read())] == ["org.msg_b.0"]


def test_a_refused_receipt_is_retried() -> None:
    # Given a receipts endpoint that answers 500 twice
    sink = ReceiptSink(fail_first=2)
    sandbox = SandboxCarrier(receipt_delay=0.01)
    sandbox.start()
    sandbox.configure_receipts(sink.url, "t")
    try:
        # When a deliverable number is submitted
        _submit(sandbox, ("r1", "+254712345678"))

        # Then the receipt arrives after the retries, once
        sink.wait_for(1)
        assert sink.calls == 3
        assert len(sink.received) == 1
    finally:
        sandbox.stop()
        sink.server.shutdown()


def test_malformed_submit_is_a_400(carrier: SandboxCarrier) -> None:
    request = urllib.request.Request(f"{carrier.url}/submit", data=b'{"nope": 1}')
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_receipt_delays_are_seconds_spread_bounded_and_the_same_every_run() -> None:
    import random

    from local.sandbox_carrier import ReceiptDelays

    delays = ReceiptDelays.parse("1.5,3,20")
    drawn = [delays.draw(random.Random(7)) for _ in range(3)]
    many = [delays.draw(rng) for rng in [random.Random(1)] for _ in range(2_000)]
    # Then they stay inside the bounds, centre near the median, spread out, and repeat by seed
    assert all(1.5 <= delay <= 20 for delay in many)
    assert 2.5 < sorted(many)[len(many) // 2] < 3.5
    assert max(many) > 6 and min(many) == 1.5
    assert drawn == [drawn[0]] * 3
    # and one number is a fixed delay; a bad spec is refused
    assert ReceiptDelays.parse("0.05").draw(random.Random(1)) == 0.05
    with pytest.raises(ValueError):
        ReceiptDelays.parse("3,2,1")
