"""Scenarios against the local stack (``python -m local``, started here as the e2e tests do),
driven over HTTP on 127.0.0.1 like a merchant and a carrier.

* 10,000 (and 1,000) recipients of one send to their final states, as ``make run`` runs them:
  the time, recipients a second, and how many invocations ran past their Lambda timeout
  (each one's batch is redelivered). The sandbox's numbers all deliver.
* Time to carrier: a one-number send, from POST answered to the sandbox holding the
  submission (an OTP's latency), p50 and p95 of 50.

* 1,000 receipts for one message, arriving concurrently: none lost, counters exact, and how
  often the message item was written (counted from the table's stream: one MODIFY record per
  write that changed it).
* ``POST /send`` for 10,000 numbers ÷ for 1, over HTTP (dispatch of earlier sends runs in the
  stack's background meanwhile, for both sides alike).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from local.infrastructure import DEFAULT_STACK_NAME
from local.moto_server import aws_environment, moto_client
from local.stack import SANDBOX_CARRIER, SECOND_SANDBOX_CARRIER
from local.stack_process import ReadyInfo, local_stack_process

RECEIPTS = 1_000
CONCURRENCY = 32
RETRIES = 5
# Dispatch of the 1,000 recipients on the local stack (moto over HTTP) must finish in this.
DISPATCH_WAIT_SECONDS = 150
ENVIRONMENT = {
    "LISOLOO_SANDBOX_RECEIPT_DELAY": "0.05",
    "LISOLOO_LOCAL_SWEEP_SECONDS": "30",
    # Dispatchers see the single-carrier route of the receipts scenario within 2 s.
    "CARRIER_CONFIG_CACHE_SECONDS": "2",
    "PYTHONUNBUFFERED": "1",
}
# The to-final runs measure the stack's throughput, not how long a handset takes: receipts come
# 1.1 to 2 s after a submit, as in the e2e tests (tests/e2e/conftest.py), not `make run`'s
# realistic 1.5 to 20 s, whose slowest draw among 1,000 would be most of the figure.
TO_FINAL_RECEIPT_DELAY = "1.1,1.3,2"


@contextmanager
def local_stack(timeout: float = 120, environment: dict[str, str] | None = None) -> Iterator[tuple[ReadyInfo, IO[str]]]:
    """The stack, and its stderr (what it logs: invocations that failed or timed out)."""
    environment = {**os.environ, **(environment if environment is not None else ENVIRONMENT)}
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
        local_stack_process(environment, stdout, stderr, timeout=timeout) as ready,
    ):
        yield ready, stderr


def _lambda_timeouts(stderr: IO[str]) -> int:
    stderr.seek(0)
    return stderr.read().count("Sandbox.Timedout")


def to_final(ready: ReadyInfo, stderr: IO[str], count: int, limit_seconds: float = 600) -> dict[str, Any]:
    """One send of ``count`` deliverable numbers, until every recipient is final."""
    numbers = [f"+2547{index:05d}123" for index in range(count)]  # none of the sandbox's 000x endings
    timeouts_before = _lambda_timeouts(stderr)
    load = os.getloadavg()[0]
    started = time.monotonic()
    code, body = _send(ready, numbers)
    if code != 200:
        raise RuntimeError(f"send answered {code}: {body}")
    message_id = body["data"]["message_id"]
    while True:
        data = _status(ready, message_id, limit=1)
        seconds = time.monotonic() - started
        if data["pending"] == 0 or seconds > limit_seconds:
            break
        time.sleep(0.5)
    return {
        "recipients": count,
        "seconds": seconds,
        "final": data["pending"] == 0,
        "delivered": data["delivered"],
        "lambda_timeouts": _lambda_timeouts(stderr) - timeouts_before,
        "load_average": load,
    }


def export_time(ready: ReadyInfo, expected: int, limit_seconds: float = 300) -> dict[str, Any]:
    """POST /exports of the last hour (the to-final runs' recipients) as CSV, until its file is
    done; then the file downloaded from its link, over HTTP, and its rows counted."""
    now = datetime.now(UTC)
    window = {
        "created_after": (now - timedelta(hours=1)).isoformat(),
        "created_before": (now + timedelta(minutes=1)).isoformat(),
        "format": "csv",
    }
    started = time.monotonic()
    code, body = _call("POST", f"{ready.base_url}/exports", window, {"app-key": ready.app_key})
    if code != 202:
        raise RuntimeError(f"POST /exports answered {code}: {body}")
    export_id = body["data"]["export_id"]
    while True:
        _, body = _call("GET", f"{ready.base_url}/exports/{export_id}", None, {"app-key": ready.app_key})
        seconds = time.monotonic() - started
        if body["data"]["status"] == "done" or seconds > limit_seconds:
            break
        time.sleep(0.5)
    data = body["data"]
    lines = 0
    if data.get("url"):
        with urllib.request.urlopen(data["url"], timeout=60) as response:  # noqa: S310 - moto's loopback URL
            lines = sum(1 for _ in response) - 1  # less the header
    return {"seconds": seconds, "rows": data.get("rows"), "downloaded_rows": lines, "expected": expected}


def time_to_carrier(ready: ReadyInfo, sends: int = 50) -> dict[str, Any]:
    """A one-number send's time from POST answered (started) to the sandbox holding it."""
    samples: list[float] = []
    for index in range(sends):
        started = time.perf_counter()
        code, body = _send(ready, [f"+2547{index:05d}321"])
        if code != 200:
            raise RuntimeError(f"send answered {code}: {body}")
        while not _submissions(ready, body["data"]["message_id"]):
            if time.perf_counter() - started > 30:
                raise RuntimeError("the sandbox never got the submission")
            time.sleep(0.002)
        samples.append(time.perf_counter() - started)
        time.sleep(0.15)  # well inside the demo organization's 10 requests a second
    ordered = sorted(samples)
    return {
        "sends": sends,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000,
    }


def _submissions(ready: ReadyInfo, message_id: str = "", urls: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What the sandboxes at ``urls`` (default: both, one * route over them) received for the
    message. Filtered by the sandbox: reading all of its earlier 11,000 submits would be most
    of the figure."""
    found: list[dict[str, Any]] = []
    for url in urls or (ready.sandbox_url, ready.sandbox_b_url):
        query = f"?message_id={message_id}" if message_id else ""
        code, submissions = _call_once("GET", f"{url}/submissions{query}")
        if code != 200:
            raise RuntimeError(f"the sandbox answered {code}")
        found.extend(submissions)
    return found


def _call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request; a reset connection (the local gateway's listen queue overflowing under
    concurrency) is retried, as a carrier retries a receipt it could not deliver."""
    for _ in range(RETRIES):
        try:
            return _call_once(method, url, body, headers)
        except (ConnectionError, urllib.error.URLError):
            time.sleep(0.5)
    return _call_once(method, url, body, headers)


def _call_once(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def _send(ready: ReadyInfo, numbers: list[str]) -> tuple[int, Any]:
    return _call("POST", f"{ready.base_url}/send", {"to": numbers, "message": "bench"}, {"app-key": ready.app_key})


def _status(ready: ReadyInfo, message_id: str, limit: int = 100) -> dict[str, Any]:
    code, body = _call(
        "GET", f"{ready.base_url}/status/{message_id}?recipients_limit={limit}", headers={"app-key": ready.app_key}
    )
    if code != 200:
        raise RuntimeError(f"status answered {code}: {body}")
    data: dict[str, Any] = body["data"]
    return data


def _meta_writes(ready: ReadyInfo, message_pk: str) -> int:
    """MODIFY records of the message item on the table's stream (read at moto's endpoint)."""
    dynamodb = moto_client(ready.moto_url, "dynamodb")
    streams = moto_client(ready.moto_url, "dynamodbstreams")
    tables = [name for name in dynamodb.list_tables()["TableNames"] if "SmsTable" in name]
    arn = dynamodb.describe_table(TableName=tables[0])["Table"]["LatestStreamArn"]
    writes = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in response["Records"]:
                keys = record["dynamodb"]["Keys"]
                if record["eventName"] == "MODIFY" and keys["PK"]["S"] == message_pk and keys["SK"]["S"] == "META":
                    writes += 1
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return writes


def _route_all_to(ready: ReadyInfo, carrier: str) -> None:
    """``lisoloo-admin routes set '*' CARRIER`` against the stack, as an operator would."""
    subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "lisoloo_admin", "--stack", DEFAULT_STACK_NAME, "routes", "set", "*", carrier],
        env={**os.environ, **aws_environment(ready.moto_url)},
        capture_output=True,
        timeout=60,
        check=True,
    )


def concurrent_receipts(ready: ReadyInfo) -> dict[str, Any]:
    # One carrier takes them all, so every receipt is posted with the token it holds (the
    # stack's `*` route splits numbers between two sandboxes with tokens of their own; a
    # receipt posted under the wrong carrier is refused as unknown, rightly).
    _route_all_to(ready, SANDBOX_CARRIER)
    time.sleep(3)  # past CARRIER_CONFIG_CACHE_SECONDS
    # Numbers ending 0004: the sandbox accepts them and never sends a receipt (DESIGN §5),
    # so every receipt below is ours.
    numbers = [f"+2547{index:04d}0004" for index in range(RECEIPTS)]
    code, body = _send(ready, numbers)
    if code != 200:
        raise RuntimeError(f"send answered {code}: {body}")
    message_id = body["data"]["message_id"]
    deadline = time.monotonic() + DISPATCH_WAIT_SECONDS
    while _status(ready, message_id)["status"] != "sent":
        if time.monotonic() > deadline:
            raise RuntimeError("dispatch did not hand off the 1,000 recipients in time")
        time.sleep(1)
    if _submissions(ready, message_id, (ready.sandbox_b_url,)):
        raise RuntimeError(f"{SECOND_SANDBOX_CARRIER} took some numbers despite the route to {SANDBOX_CARRIER} alone")
    submissions = _submissions(ready, message_id)
    references = sorted({s["reference"] for s in submissions if s["reference"].split(".")[1] == message_id})
    org_id = references[0].split(".")[0]
    message_pk = f"ORG#{org_id}#MSG#{message_id}"
    expected = {
        int(reference.split(".")[2]): "delivered" if index % 2 else "undelivered"
        for index, reference in enumerate(references)
    }
    writes_before = _meta_writes(ready, message_pk)

    def post(reference: str) -> tuple[int, Any]:
        status = expected[int(reference.split(".")[2])]
        return _call(
            "POST",
            f"{ready.base_url}/receipts/sandbox",
            {"carrier_ref": reference, "status": status},
            {"x-carrier-token": ready.carrier_token},
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        replies = list(pool.map(post, references))
    seconds = time.monotonic() - started
    # Receipts may be queued and applied a moment later (a buffer between carrier and table).
    deadline = time.monotonic() + 120
    while (data := _status(ready, message_id, limit=1000))["pending"] and time.monotonic() < deadline:
        time.sleep(1)
    writes = _meta_writes(ready, message_pk) - writes_before
    rows = {index: recipient["status"] for index, recipient in enumerate(data["recipients"])}
    lost = sum(1 for index, status in expected.items() if rows.get(index) != status)
    delivered = sum(1 for status in expected.values() if status == "delivered")
    return {
        "receipts": len(references),
        "concurrency": CONCURRENCY,
        "answered_2xx": sum(1 for code, _ in replies if 200 <= code < 300),
        "queued": sum(reply["data"]["received"] for code, reply in replies if code == 200),
        "lost": lost,
        "counters": [data["delivered"], data["failed"], data["pending"]],
        "counters_exact": (data["delivered"], data["failed"], data["pending"])
        == (delivered, len(expected) - delivered, 0)
        and data["delivered"] == sum(1 for status in rows.values() if status == "delivered"),
        "final_status": data["status"],
        "message_item_writes": writes,
        "seconds": seconds,
    }


def send_ratio_http(ready: ReadyInfo, repetitions: int = 3, big: int = 10_000) -> dict[str, Any]:
    one = ["+254712345678"]
    many = [f"+2547{index:08d}" for index in range(big)]
    samples: dict[str, list[float]] = {"one": [], "many": []}
    for repetition in range(repetitions + 1):
        order = [("one", one), ("many", many)] if repetition % 2 else [("many", many), ("one", one)]
        for label, batch in order:
            started = time.perf_counter()
            code, body = _send(ready, batch)
            elapsed = time.perf_counter() - started
            if code != 200:
                raise RuntimeError(f"send answered {code}: {body}")
            if repetition:
                samples[label].append(elapsed)
    return {
        "wall_ratio": statistics.median(samples["many"]) / statistics.median(samples["one"]),
        "one_seconds": statistics.median(samples["one"]),
        "many_seconds": statistics.median(samples["many"]),
        "repetitions": repetitions,
    }


def run(big: int = 10_000) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # As `make run` runs it (its own settings but the receipts' delay), on a stack that has done
    # nothing else yet.
    with local_stack(
        environment={"LISOLOO_SANDBOX_RECEIPT_DELAY": TO_FINAL_RECEIPT_DELAY, "PYTHONUNBUFFERED": "1"}
    ) as (ready, stderr):
        results["to_final"] = {
            str(count): {**to_final(ready, stderr, count), "receipt_delay": TO_FINAL_RECEIPT_DELAY}
            for count in (1_000, big)
        }
        results["export"] = export_time(ready, expected=1_000 + big)
        results["time_to_carrier"] = time_to_carrier(ready)
    with local_stack() as (ready, _):
        results["receipts"] = concurrent_receipts(ready)
        results["send_ratio"] = send_ratio_http(ready, big=big)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
