"""The sandbox carrier: a small HTTP SMSC on a loopback port whose outcomes depend on the number.

Protocol (the contract with the layer's SandboxCarrier connector):

* ``POST /submit`` ``{"messages": [{"reference", "to", "text", "sender_id", "segments"}]}`` →
  ``{"results": [{"reference", "outcome", "carrier_ref", "error_code", "error_message"}]}``
  in the same order; ``carrier_ref`` echoes the reference when accepted.
* Receipts: one JSON POST per message to the receipts endpoint, with ``x-carrier-token``,
  seconds after the submit as a real network takes (``ReceiptDelays``: spread around a median,
  bounded, drawn from a seeded generator), from a background thread, retried a few times with
  a short backoff on errors and non-2xx answers, as real carriers do.
* ``GET /submissions``: every submit received, with its text, so tests can check nothing went
  twice and what each handset would read (``?message_id=`` for one message's).
* ``POST /mo`` ``{"from", "to", "text"}``: a handset's message to one of our numbers (DESIGN §9),
  posted to the inbound endpoint as a carrier would (with an ``id`` of the sandbox's, and the
  carrier token); answered with the gateway's own status and body.
* ``POST /control`` ``{"mode": "ok|refuse|503|throttle|slow|fake_dlr"}`` (``GET`` reads it), so
  failover can be watched on one machine (DESIGN §8): ``refuse`` answers every message
  ``transient`` (refused, not taken); ``503`` and ``throttle`` (429) refuse the whole request;
  ``slow`` takes the messages but answers only after ``slow_seconds`` (default 12, past the
  connector's 10 s timeout: the uncertain case); ``fake_dlr`` takes them and reports every one
  ``delivered`` at once, whatever the number: the telling signature route quality looks for
  (DESIGN §8), next to the honest receipts' seconds.

The outcome table (DESIGN §5) is :func:`sandbox_outcome`, a pure function.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger("local.sandbox")

SubmitOutcome = Literal["accepted", "rejected", "transient"]
ControlMode = Literal["ok", "refuse", "503", "throttle", "slow", "fake_dlr"]
CONTROL_MODES: tuple[str, ...] = ("ok", "refuse", "503", "throttle", "slow", "fake_dlr")
# Whole-request refusals by mode: the HTTP status and body the sandbox answers.
_REQUEST_REFUSALS: dict[str, tuple[int, str]] = {"503": (503, "unavailable"), "throttle": (429, "throttled")}
_REFUSED_ERROR = ("REFUSED", "Refused by the carrier (sandbox control: refuse)")

_RECEIPT_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
_RECEIPT_TIMEOUT_SECONDS = 10
_TRANSIENT_ERROR = ("THROTTLED", "Carrier busy, retry later")
_REJECTED_ERROR = ("REJECTD", "Sender or content rejected by the carrier")


@dataclass(frozen=True)
class ReceiptDelays:
    """Seconds from a submit to its receipt: log-normal around ``median`` (a real handset takes
    a few seconds, now and then much longer), clipped to ``[low, high]`` so a test's wait stays
    bounded. Never under a second by default: a receipt faster than that reads as fake."""

    low: float = 1.5
    median: float = 3.0
    high: float = 20.0

    @classmethod
    def parse(cls, text: str) -> ReceiptDelays:
        """``SECONDS`` (always that) or ``LOW,MEDIAN,HIGH``; ValueError otherwise."""
        parts = [float(part) for part in text.split(",")]
        if len(parts) == 1:
            return cls(parts[0], parts[0], parts[0])
        if len(parts) != 3 or not 0 <= parts[0] <= parts[1] <= parts[2]:
            raise ValueError(f"expected SECONDS or LOW,MEDIAN,HIGH with LOW <= MEDIAN <= HIGH, got {text!r}")
        return cls(*parts)

    def draw(self, rng: random.Random) -> float:
        if self.low == self.high:
            return self.low
        spread = rng.lognormvariate(math.log(max(self.median, 1e-3)), 0.6)
        return min(self.high, max(self.low, spread))


@dataclass(frozen=True)
class SandboxOutcome:
    submit: SubmitOutcome
    # The receipt's status, or None when no receipt is ever sent.
    receipt: str | None = None
    receipt_error_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    # The SMPP race: the receipt is posted, and answered, before the submit response goes back.
    receipt_before_reply: bool = False


def sandbox_outcome(number: str, attempt: int) -> SandboxOutcome:
    """What the sandbox does with the ``attempt``-th submit (1-based) of a reference to ``number``."""
    suffix = number[-4:]
    if suffix == "0002":
        return SandboxOutcome("rejected", error_code=_REJECTED_ERROR[0], error_message=_REJECTED_ERROR[1])
    if suffix == "0006" or (suffix == "0005" and attempt <= 2):
        return SandboxOutcome("transient", error_code=_TRANSIENT_ERROR[0], error_message=_TRANSIENT_ERROR[1])
    receipts: dict[str, tuple[str | None, str | None]] = {
        "0001": ("undelivered", "1"),
        "0003": ("expired", None),
        "0004": (None, None),
        "0007": ("partially_delivered", None),
        "0008": ("delivery_unknown", None),
    }
    receipt, error_code = receipts.get(suffix, ("delivered", None))
    return SandboxOutcome(
        "accepted", receipt=receipt, receipt_error_code=error_code, receipt_before_reply=suffix == "0009"
    )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Receipt:
    carrier_ref: str
    status: str
    error_code: str | None

    def payload(self) -> dict[str, Any]:
        return {
            "carrier_ref": self.carrier_ref,
            "status": self.status,
            "error_code": self.error_code,
            "done_at": _utc_now(),
        }


class SandboxCarrier:
    def __init__(
        self, *, receipt_delay: float | ReceiptDelays = ReceiptDelays(), senders: int = 4, seed: int = 0
    ) -> None:
        self.receipt_delays = (
            receipt_delay if isinstance(receipt_delay, ReceiptDelays) else ReceiptDelays.parse(str(receipt_delay))
        )
        self._random = random.Random(seed)  # noqa: S311 - seeded delays, nothing secret: a run repeats
        self._receipts_url: str | None = None
        self._inbound_url: str | None = None
        self._token: str | None = None
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._submissions: list[dict[str, Any]] = []
        self._receipts_sent = 0
        # Receipts due later wait in a heap for one scheduler thread; a few senders post them.
        self._due: list[tuple[float, int, _Receipt]] = []
        self._due_changed = threading.Condition(self._lock)
        self._sequence = itertools.count()
        self._senders = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sandbox-receipts")
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.mode: ControlMode = "ok"
        self.slow_seconds = 12.0

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        carrier = self

        class Handler(_SandboxRequestHandler):
            sandbox = carrier

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="sandbox-http", daemon=True),
            threading.Thread(target=self._schedule_receipts, name="sandbox-scheduler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox carrier is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def configure_receipts(self, receipts_url: str, token: str, inbound_url: str | None = None) -> None:
        """Where receipts (and inbound messages) go and the token they carry: known only once the
        gateway is up and the carrier is registered, after the sandbox's URL went into the stack."""
        with self._lock:
            self._receipts_url = receipts_url
            self._inbound_url = inbound_url
            self._token = token

    def stop(self) -> None:
        self._stopping.set()
        with self._due_changed:
            self._due_changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._senders.shutdown(wait=False, cancel_futures=True)
        for thread in self._threads:
            thread.join(timeout=5)

    # --- control (DESIGN §8) ------------------------------------------------------------------

    def control(self, mode: str, slow_seconds: float | None = None) -> dict[str, Any]:
        if mode not in CONTROL_MODES:
            raise ValueError(f"mode must be one of {', '.join(CONTROL_MODES)}")
        with self._lock:
            self.mode = mode  # type: ignore[assignment]  # checked above
            if slow_seconds is not None:
                self.slow_seconds = slow_seconds
            return {"mode": self.mode, "slow_seconds": self.slow_seconds}

    def refusal(self, messages: list[dict[str, Any]]) -> tuple[int, str] | None:
        """The whole-request answer of the 503 and throttle modes (recorded), else None."""
        with self._lock:
            refused = _REQUEST_REFUSALS.get(self.mode)
            if refused is not None:
                self._submissions.extend(
                    {
                        "reference": str(m["reference"]),
                        "to": str(m["to"]),
                        "text": m.get("text"),
                        "validity_period": m.get("validity_period"),
                        "attempt": None,
                        "outcome": self.mode,
                        "at": _utc_now(),
                    }
                    for m in messages
                )
            return refused

    # --- the SMSC ------------------------------------------------------------------------------

    def submit(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            mode, slow_seconds = self.mode, self.slow_seconds
        if mode == "refuse":
            return self._refuse(messages)
        results: list[dict[str, Any]] = []
        immediate: list[_Receipt] = []
        for message in messages:
            reference, number = str(message["reference"]), str(message["to"])
            with self._lock:
                attempt = self._attempts[reference] = self._attempts.get(reference, 0) + 1
                outcome = sandbox_outcome(number, attempt)
                if mode == "fake_dlr" and outcome.submit == "accepted":
                    # Reported delivered at once, whatever the number: what a fake-DLR link does.
                    outcome = SandboxOutcome("accepted", receipt="delivered")
                self._submissions.append(
                    {
                        "reference": reference,
                        "to": number,
                        # What the handset would show: a personal text rendered (DESIGN §12).
                        "text": message.get("text"),
                        # Seconds of validity left, as the connector passed it (DESIGN §12).
                        "validity_period": message.get("validity_period"),
                        "attempt": attempt,
                        "outcome": outcome.submit,
                        "at": _utc_now(),
                    }
                )
            accepted = outcome.submit == "accepted"
            results.append(
                {
                    "reference": reference,
                    "outcome": outcome.submit,
                    "carrier_ref": reference if accepted else None,
                    "error_code": outcome.error_code,
                    "error_message": outcome.error_message,
                }
            )
            if accepted and outcome.receipt is not None:
                receipt = _Receipt(reference, outcome.receipt, outcome.receipt_error_code)
                if outcome.receipt_before_reply:
                    immediate.append(receipt)
                else:
                    delay = 0.0 if mode == "fake_dlr" else self.receipt_delays.draw(self._random)
                    self._schedule(receipt, delay)
        for receipt in immediate:
            self._post_receipt(receipt)
        if mode == "slow":
            # Taken, but the answer comes too late: the connector sees a timeout after sending.
            self._stopping.wait(slow_seconds)
        return results

    def _refuse(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._lock:
            self._submissions.extend(
                {
                    "reference": str(m["reference"]),
                    "to": str(m["to"]),
                    "text": m.get("text"),
                    "validity_period": m.get("validity_period"),
                    "attempt": None,
                    "outcome": "refused",
                    "at": _utc_now(),
                }
                for m in messages
            )
        code, text = _REFUSED_ERROR
        return [
            {
                "reference": str(m["reference"]),
                "outcome": "transient",
                "carrier_ref": None,
                "error_code": code,
                "error_message": text,
            }
            for m in messages
        ]

    def submissions(self, containing: str = "") -> list[dict[str, Any]]:
        """Every submit received, or those whose reference contains ``containing`` (a message id)."""
        with self._lock:
            return [submission for submission in self._submissions if containing in submission["reference"]]

    def counts(self) -> dict[str, int]:
        """What it has taken and answered so far (the local stack's progress line)."""
        with self._lock:
            accepted = sum(1 for submission in self._submissions if submission["outcome"] == "accepted")
            return {"submitted": accepted, "receipts sent": self._receipts_sent, "receipts waiting": len(self._due)}

    def inject_mo(self, message: dict[str, Any]) -> tuple[int, bytes]:
        """A handset's message, posted to the inbound endpoint as a carrier would; the gateway's answer."""
        with self._lock:
            url, token = self._inbound_url, self._token
        if url is None or token is None:
            return 503, json.dumps({"error": "the sandbox has no inbound URL yet"}).encode()
        body = json.dumps({**message, "id": f"sandbox-mo-{uuid.uuid4().hex}"}).encode()
        request = urllib.request.Request(  # noqa: S310 - the local gateway's loopback URL
            url, data=body, headers={"Content-Type": "application/json", "x-carrier-token": token}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=_RECEIPT_TIMEOUT_SECONDS) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError as error:
            return 502, json.dumps({"error": str(error)}).encode()

    # --- receipts ------------------------------------------------------------------------------

    def _schedule(self, receipt: _Receipt, delay: float) -> None:
        with self._due_changed:
            heapq.heappush(self._due, (time.monotonic() + delay, next(self._sequence), receipt))
            self._due_changed.notify()

    def _schedule_receipts(self) -> None:
        with self._due_changed:
            while not self._stopping.is_set():
                if not self._due:
                    self._due_changed.wait()
                    continue
                due_at, _, receipt = self._due[0]
                remaining = due_at - time.monotonic()
                if remaining > 0:
                    self._due_changed.wait(remaining)
                    continue
                heapq.heappop(self._due)
                self._senders.submit(self._post_receipt, receipt)

    def _post_receipt(self, receipt: _Receipt) -> None:
        with self._lock:
            url, token = self._receipts_url, self._token
        if url is None or token is None:
            logger.warning("receipt for %s dropped: the sandbox has no receipts URL yet", receipt.carrier_ref)
            return
        body = json.dumps(receipt.payload()).encode()
        for attempt, backoff in enumerate((*_RECEIPT_BACKOFF_SECONDS, None), start=1):
            failure = _post(url, body, token)
            if failure is None:
                with self._lock:
                    self._receipts_sent += 1
                return
            if backoff is None or self._stopping.is_set():
                logger.error("receipt for %s given up after %d attempts: %s", receipt.carrier_ref, attempt, failure)
                return
            logger.warning("receipt for %s: %s; retrying in %.1f s", receipt.carrier_ref, failure, backoff)
            self._stopping.wait(backoff)


def _post(url: str, body: bytes, token: str) -> str | None:
    """Posts one receipt; None on a 2xx answer, else what went wrong."""
    request = urllib.request.Request(  # noqa: S310 - the local gateway's loopback URL
        url, data=body, headers={"Content-Type": "application/json", "x-carrier-token": token}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=_RECEIPT_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
            return None
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code} {error.read()[:200]!r}"
    except OSError as error:
        return str(error)


class _SandboxRequestHandler(BaseHTTPRequestHandler):
    sandbox: SandboxCarrier
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if self.path == "/mo":
            self._inject_mo()
            return
        if self.path == "/control":
            self._control()
            return
        if self.path != "/submit":
            self._answer(404, {"error": "not found"})
            return
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            messages = payload["messages"]
            if not isinstance(messages, list) or not all("reference" in m and "to" in m for m in messages):
                raise ValueError("messages must be a list of objects with reference and to")
        except (ValueError, KeyError, TypeError) as error:
            self._answer(400, {"error": f"bad submit: {error}"})
            return
        refused = self.sandbox.refusal(messages)
        if refused is not None:
            self._answer(refused[0], {"error": refused[1]})
            return
        self._answer(200, {"results": self.sandbox.submit(messages)})

    def _inject_mo(self) -> None:
        try:
            message = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if not isinstance(message, dict) or not all(
                isinstance(message.get(k), str) for k in ("from", "to", "text")
            ):
                raise ValueError('a message is {"from": "...", "to": "...", "text": "..."}')
        except ValueError as error:
            self._answer(400, {"error": f"bad message: {error}"})
            return
        status, body = self.sandbox.inject_mo({name: message[name] for name in ("from", "to", "text")})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self) -> None:
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            slow = payload.get("slow_seconds")
            answer = self.sandbox.control(str(payload["mode"]), float(slow) if slow is not None else None)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            self._answer(400, {"error": f"bad control: {error}", "modes": list(CONTROL_MODES)})
            return
        logger.warning("sandbox control: mode %s", answer["mode"])
        self._answer(200, answer)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/submissions":
            # ?message_id= keeps a poll for one message cheap after thousands of submits.
            containing = parse_qs(url.query).get("message_id", [""])[0]
            self._answer(200, self.sandbox.submissions(containing))
        elif url.path == "/control":
            self._answer(200, {"mode": self.sandbox.mode, "slow_seconds": self.sandbox.slow_seconds})
        else:
            self._answer(404, {"error": "not found"})

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)
