"""A bounded load on 127.0.0.1: many merchants send and poll while the sandbox carrier storms
receipts (its own, plus duplicates and contradicting late ones from this client), then an audit.

    python -m tests.load [--merchants 6] [--messages 10] [--seconds 150] [--drain 150] [--json out.json]

It starts its own local stack (``python -m local`` on a free loopback port, short delays), so it
touches nothing else; every request goes to 127.0.0.1; request counts are fixed and the whole run
has a time limit, after which it stops by itself. It prints a Markdown table for
docs/reliability.md and exits non-zero if anything was lost, duplicated or answered 5xx.

What is measured:

* sent: messages accepted (200) and their recipients;
* delivered / failed: recipients in their final state at the end, each checked against the
  sandbox's outcome for its number (DESIGN §5);
* lost: recipients not final by the end, or final in another state than the sandbox decided;
* duplicated: submissions the sandbox received twice for one attempt, or more attempts than the
  number's outcome calls for; and messages whose counters disagree with their recipients;
* p50 / p99 of POST /send and GET /status, and the count of 5xx (and 429) answers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from local.stack_process import local_stack_process

STACK_SETTINGS = {
    "LISOLOO_SANDBOX_RECEIPT_DELAY": "0.05",
    "LISOLOO_LOCAL_SWEEP_SECONDS": "1",
    "LISOLOO_CARRIER_RETRY_DELAYS": "0,1,2",
    "LISOLOO_DELIVERY_TIMEOUT_SECONDS": "600",
    "PYTHONUNBUFFERED": "1",
}
# Sandbox outcome by the last four digits (DESIGN §5), and how many submit attempts it takes.
OUTCOMES: dict[str, tuple[str, int]] = {
    "0001": ("undelivered", 1),
    "0002": ("rejected", 1),
    "0003": ("expired", 1),
    "0005": ("delivered", 3),
    "0006": ("failed", 3),
    "0007": ("partially_delivered", 1),
    "0008": ("delivery_unknown", 1),
    "0009": ("delivered", 1),
}
INVALID_NUMBER = "+254000000000"
LATE_STATES = ["delivered", "undelivered", "enroute", "sent", "expired", "rejected"]


@dataclass
class Stack:
    base_url: str
    moto_url: str
    sandbox_url: str
    carrier_token: str


@dataclass
class Message:
    merchant: int
    app_key: str
    message_id: str
    numbers: list[str]
    final: dict[str, Any] | None = None


@dataclass
class Tally:
    send_seconds: list[float] = field(default_factory=list)
    status_seconds: list[float] = field(default_factory=list)
    codes: Counter[int] = field(default_factory=Counter)
    storm_receipts: int = 0
    storm_refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, code: int) -> None:
        with self.lock:
            (self.send_seconds if kind == "send" else self.status_seconds).append(seconds)
            self.codes[code] += 1


def expected(number: str) -> tuple[str, int]:
    if number == INVALID_NUMBER:
        return ("failed", 0)
    return OUTCOMES.get(number[-4:], ("delivered", 1))


def numbers_for(rng: random.Random, count: int) -> list[str]:
    chosen: dict[str, None] = {}
    while len(chosen) < count:
        roll = rng.random()
        if roll < 0.05:
            chosen[INVALID_NUMBER] = None
        elif roll < 0.45:
            chosen[f"+2547{rng.randint(1000, 9999)}{rng.choice(list(OUTCOMES))}"] = None
        else:
            chosen[f"+2547{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"] = None  # never 000x: delivered
    return list(chosen)


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to send load anywhere but loopback: {url}")
    return url


@contextmanager
def local_stack(problems: list[str]) -> Iterator[Stack]:
    """The stack's own errors (a receipt the sandbox gave up on, a failed invocation) are
    collected into ``problems`` when it stops."""
    environment = {**os.environ, **STACK_SETTINGS}
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        try:
            with local_stack_process(environment, stdout, stderr, timeout=90) as ready:
                yield Stack(
                    base_url=loopback_only(ready.base_url),
                    moto_url=loopback_only(ready.moto_url),
                    sandbox_url=loopback_only(ready.sandbox_url),
                    carrier_token=ready.carrier_token,
                )
        finally:
            stderr.seek(0)
            text = stderr.read()
            if log_path := os.environ.get("LISOLOO_LOAD_STACK_LOG"):
                Path(log_path).write_text(text)  # the stack's whole log, to look into what went wrong
            lines = text.splitlines()
            problems.extend(_problem(line) for line in lines if "ERROR" in line or "given up" in line)


def _problem(line: str) -> str:
    """A stack error line, short: the function, the message and the exception's last line."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line[:300]
    exception = str(entry.get("exception", "")).strip().splitlines()
    function = str(entry.get("function_name", "")).removeprefix("lisoloo-local-")
    return f"{function} {entry.get('message')}: {exception[-1] if exception else ''}"[:300]


def run(stack: Stack, merchants: int, messages: int, seconds: float, seed: int, drain: float = 120) -> dict[str, Any]:
    from tests.reliability.tenants import new_tenant

    rng = random.Random(seed)
    stop_at = time.monotonic() + seconds
    tally = Tally()
    # Organizations of their own, with limits that leave the system (not the throttle) to measure.
    tenants = [new_tenant(stack.moto_url, rate_limit=1_000, burst_limit=2_000) for _ in range(merchants)]
    plans = [[numbers_for(rng, rng.randint(1, 5)) for _ in range(messages)] for _ in tenants]
    sent: list[Message] = []
    sent_lock = threading.Lock()

    def merchant_sends(index: int) -> None:
        session = requests.Session()
        for number, numbers in enumerate(plans[index]):
            if time.monotonic() > stop_at:
                return
            started = time.perf_counter()
            response = session.post(
                f"{stack.base_url}/send",
                json={"to": numbers, "message": f"load test {index}"},
                headers={"app-key": tenants[index].app_key, "Idempotency-Key": f"load-{index}-{number}"},
                timeout=60,
            )
            tally.record("send", time.perf_counter() - started, response.status_code)
            if response.status_code == 200:
                with sent_lock:
                    sent.append(Message(index, tenants[index].app_key, response.json()["data"]["message_id"], numbers))
            _poll_some(session, stack, tally, rng_for(index), sent, sent_lock, index)

    def storm(index: int) -> None:
        """A carrier re-sending receipts for finished messages, late and contradicting: each
        must be answered 200 and change nothing (receipts are applied from a queue, so the
        audit checks that: every final state as the sandbox decided, counters equal to rows)."""
        session, local_rng = requests.Session(), rng_for(1_000 + index)
        while time.monotonic() < stop_at + drain and not done.is_set():
            with sent_lock:
                finished = [message for message in sent if message.final is not None]
            if not finished:
                time.sleep(0.05)
                continue
            pick = local_rng.choice(finished)
            org = tenants[pick.merchant].org_id
            reference = f"{org}.{pick.message_id}.{local_rng.randrange(len(pick.numbers))}"
            response = session.post(
                f"{stack.base_url}/receipts/sandbox",
                json={"carrier_ref": reference, "status": local_rng.choice(LATE_STATES)},
                headers={"x-carrier-token": stack.carrier_token},
                timeout=60,
            )
            with tally.lock:
                tally.storm_receipts += 1
                tally.codes[response.status_code] += 1
                if response.status_code != 200:
                    tally.storm_refused += 1
            time.sleep(0.1)

    done = threading.Event()
    with ThreadPoolExecutor(max_workers=merchants + 2) as pool:
        storms = [pool.submit(storm, index) for index in range(2)]
        for future in [pool.submit(merchant_sends, index) for index in range(merchants)]:
            future.result()
        # Everyone has sent (or the sending time is up); give the pipeline a bounded time to
        # finish: a recipient still not final after it is counted lost.
        _poll_until_final(stack, tally, sent, stop_at + drain)
        done.set()
        for future in storms:
            future.result()
    return audit(stack, tally, sent, tenants)


def rng_for(index: int) -> random.Random:
    return random.Random(index)


def _status(session: requests.Session, stack: Stack, tally: Tally, message: Message) -> dict[str, Any] | None:
    started = time.perf_counter()
    url = f"{stack.base_url}/status/{message.message_id}"
    response = session.get(url, headers={"app-key": message.app_key}, timeout=60)
    tally.record("status", time.perf_counter() - started, response.status_code)
    if response.status_code != 200:
        return None
    data: dict[str, Any] = response.json()["data"]
    return data


def _poll_some(
    session: requests.Session,
    stack: Stack,
    tally: Tally,
    rng: random.Random,
    sent: list[Message],
    lock: threading.Lock,
    merchant: int,
) -> None:
    with lock:
        mine = [message for message in sent if message.merchant == merchant and message.final is None]
    for message in rng.sample(mine, min(2, len(mine))):
        data = _status(session, stack, tally, message)
        if data is not None and data["pending"] == 0:
            message.final = data


def _poll_until_final(stack: Stack, tally: Tally, sent: list[Message], stop_at: float) -> None:
    session = requests.Session()
    while time.monotonic() < stop_at:
        waiting = [message for message in sent if message.final is None]
        if not waiting:
            return
        for message in waiting:
            data = _status(session, stack, tally, message)
            if data is not None and data["pending"] == 0:
                message.final = data
        time.sleep(0.5)


def audit(stack: Stack, tally: Tally, sent: list[Message], tenants: list[Any]) -> dict[str, Any]:
    session = requests.Session()
    lost: list[str] = []
    inconsistent: list[str] = []
    outcomes: Counter[str] = Counter()
    for message in sent:
        data = _status(session, stack, tally, message) or {}
        if data.get("delivered", 0) + data.get("failed", 0) + data.get("pending", 0) != len(message.numbers):
            inconsistent.append(message.message_id)
        states = {recipient["to"]: recipient["status"] for recipient in data.get("recipients", [])}
        counted = sum(1 for status in states.values() if status == "delivered")
        if data and counted != data["delivered"]:
            inconsistent.append(message.message_id)
        for number in message.numbers:
            wanted, _ = expected(number)
            got = states.get(number)
            outcomes[got or "missing"] += 1
            if got != wanted:
                lost.append(f"{message.message_id} {number}: {got}, expected {wanted}")
    submissions = requests.get(f"{stack.sandbox_url}/submissions", timeout=60).json()
    per_attempt = Counter((entry["reference"], entry["attempt"]) for entry in submissions)
    per_reference = Counter(entry["reference"] for entry in submissions)
    numbers = {entry["reference"]: entry["to"] for entry in submissions}
    duplicated = [f"{reference} attempt {attempt}" for (reference, attempt), count in per_attempt.items() if count > 1]
    times: dict[str, list[str]] = {}
    for entry in submissions:
        times.setdefault(entry["reference"], []).append(f"{entry['outcome']}@{entry.get('at', '?')}")
    duplicated += [
        f"{reference}: {count} attempts for {numbers[reference]} ({', '.join(times[reference])})"
        for reference, count in per_reference.items()
        if count > expected(numbers[reference])[1]
    ]
    recipients = sum(len(message.numbers) for message in sent)
    return {
        "merchants": len(tenants),
        "messages_sent": len(sent),
        "recipients_sent": recipients,
        "delivered": outcomes["delivered"],
        "failed_as_expected": recipients - outcomes["delivered"] - len(lost),
        "lost": len(lost),
        "duplicated": len(duplicated) + len(inconsistent),
        "storm_refused": tally.storm_refused,
        "carrier_submissions": len(submissions),
        "storm_receipts": tally.storm_receipts,
        "send_p50_ms": _percentile(tally.send_seconds, 50),
        "send_p99_ms": _percentile(tally.send_seconds, 99),
        "status_p50_ms": _percentile(tally.status_seconds, 50),
        "status_p99_ms": _percentile(tally.status_seconds, 99),
        "requests": sum(tally.codes.values()),
        "http_5xx": sum(count for code, count in tally.codes.items() if code >= 500),
        "http_429": tally.codes[429],
        "examples_lost": lost[:10],
        "examples_duplicated": (duplicated + inconsistent)[:10],
    }


def _percentile(samples: list[float], percent: int) -> float:
    if not samples:
        return 0.0
    if len(samples) == 1:
        return round(samples[0] * 1000, 1)
    return round(statistics.quantiles(samples, n=100, method="inclusive")[percent - 1] * 1000, 1)


def table(result: dict[str, Any], seconds: float) -> str:
    rows = [
        ("merchants", result["merchants"]),
        ("messages sent (accepted)", result["messages_sent"]),
        ("recipients sent", result["recipients_sent"]),
        ("delivered", result["delivered"]),
        ("failed, as the sandbox decided", result["failed_as_expected"]),
        ("lost (goal 0)", result["lost"]),
        ("duplicated (goal 0)", result["duplicated"]),
        ("carrier submissions", result["carrier_submissions"]),
        ("storm receipts (duplicate, late, contradicting)", result["storm_receipts"]),
        ("storm receipts not answered 200 (goal 0)", result["storm_refused"]),
        ("POST /send p50 / p99", f"{result['send_p50_ms']} ms / {result['send_p99_ms']} ms"),
        ("GET /status p50 / p99", f"{result['status_p50_ms']} ms / {result['status_p99_ms']} ms"),
        ("requests", result["requests"]),
        ("5xx answers (goal 0)", result["http_5xx"]),
        ("429 answers", result["http_429"]),
        ("wall time", f"{seconds:.0f} s"),
    ]
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--merchants", type=int, default=6)
    parser.add_argument("--messages", type=int, default=10, help="per merchant")
    parser.add_argument("--seconds", type=float, default=150, help="sending stops by then")
    parser.add_argument("--drain", type=float, default=150, help="then at most this long for everything to be final")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args(argv)
    if options.merchants * options.messages > 2_000:
        parser.error("keep it bounded: at most 2,000 sends")
    started = time.monotonic()
    problems: list[str] = []
    with local_stack(problems) as stack:
        result = run(stack, options.merchants, options.messages, options.seconds, options.seed, options.drain)
    elapsed = time.monotonic() - started
    result["stack_errors"] = len(problems)
    print(table(result, elapsed))
    for line in problems[:10]:
        print(f"  stack: {line}")
    for name in ("examples_lost", "examples_duplicated"):
        for line in result[name]:
            print(f"  {name.removeprefix('examples_')}: {line}")
    if options.json:
        options.json.write_text(json.dumps({**result, "wall_seconds": round(elapsed, 1)}, indent=2))
    return 0 if result["lost"] == result["duplicated"] == result["http_5xx"] == result["storm_refused"] == 0 else 1
