"""The in-process scenarios: each drives the real handlers on moto and returns plain figures
(JSON-ready) for the report. Counts come from the meter; timings only ever as ratios of two
measurements taken alternately in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.counting import Tally
from bench.stack import InProcessStack, Merchant
from local.sample_events import load_event

BIG = 10_000


def numbers(count: int) -> list[str]:
    """Distinct valid Kenyan mobile numbers (+2547 and eight digits)."""
    return [f"+2547{index:08d}" for index in range(count)]


def tally_figures(tally: Tally) -> dict[str, Any]:
    return {
        "requests": dict(tally.requests),
        "aws_requests": tally.aws_requests,
        "dynamodb_requests": tally.service_requests("dynamodb"),
        "sqs_requests": tally.service_requests("sqs"),
        "write_units": tally.write_units,
        "index_write_units": tally.index_write_units,
        "read_units": tally.read_units,
        "write_units_by": dict(sorted(tally.write_units_by.items(), key=lambda entry: -entry[1])),
        "failed_conditions": tally.failed_conditions,
        "invocations": dict(tally.invocations),
        "api_requests": dict(tally.api_requests),
        "carrier_calls": tally.carrier_calls,
    }


def _message_key(merchant: Merchant, message_id: str) -> tuple[str, str]:
    return (f"ORG#{merchant.org_id}#MSG#{message_id}", "META")


# --- 1. the whole lifecycle ------------------------------------------------------------------


def lifecycle(stack: InProcessStack, count: int) -> dict[str, Any]:
    """send → dispatch → one receipt per recipient → final status, with the webhooks the
    message's changes cause (the merchant has a webhook URL), all counted."""
    merchant = stack.new_merchant(webhook=True)
    started = time.perf_counter()
    with stack.meter.tally() as tally:
        stack.authorize(merchant)
        code, body = stack.send(merchant, numbers(count))
        if code != 200:
            raise RuntimeError(f"send answered {code}: {body}")
        message_id = body["data"]["message_id"]
        stack.drain()
        references = stack.carrier.take()
        queued = 0
        with stack.meter.tally() as receipts_tally:
            for reference in references:
                code, reply = stack.receipt(reference, "delivered")
                # The endpoint only queues receipts; receipt-apply applies them in the drain below.
                queued += (reply or {}).get("data", {}).get("received", 0) if 200 <= code < 300 else 0
            stack.drain()
        code, status = stack.status(merchant, message_id)
    data = status["data"]
    figures = tally_figures(tally)
    figures.update(
        recipients=count,
        message_id=message_id,
        org_id=merchant.org_id,
        submitted=len(references),
        receipts_queued=queued,
        final=[data["status"], data["delivered"], data["failed"], data["pending"]],
        correct=data["status"] == "delivered" and data["delivered"] == count and data["pending"] == 0,
        message_item_writes=tally.writes_to(stack.table_name, _message_key(merchant, message_id)),
        # Only while the receipts were applied (dispatch also writes it once per chunk handed off).
        receipt_message_item_writes=receipts_tally.writes_to(stack.table_name, _message_key(merchant, message_id)),
        webhooks_received=stack.endpoint.received,
        seconds=time.perf_counter() - started,
        # DESIGN §11's writes (each item under 1 KB: a write unit each; the event log's are
        # transactional, two units each, two items an event).
        analytics_writes=_writes_to_partitions(tally, "#STATS"),
        event_log_writes=_writes_to_partitions(tally, "#EVENTS"),
        # DESIGN §8's route quality: one write per carrier x bucket x country per batch.
        route_quality_writes=sum(
            count for (_, key), count in tally.item_writes.items() if key and key[0].startswith("ROUTEQ#")
        ),
    )
    return figures


def _writes_to_partitions(tally: Tally, suffix: str) -> int:
    return sum(count for (_, key), count in tally.item_writes.items() if key and key[0].endswith(suffix))


# --- 2. and 3. latency ratios ------------------------------------------------------------------


def timed(stack: InProcessStack, call: Callable[[], tuple[int, Any]]) -> tuple[float, float, Tally]:
    """(wall seconds, seconds outside AWS calls, tally) of one handler call."""
    with stack.meter.tally() as tally:
        started = time.perf_counter()
        code, body = call()
        wall = time.perf_counter() - started
    if code != 200:
        raise RuntimeError(f"answered {code}: {body}")
    return wall, wall - tally.endpoint_seconds, tally


def _ratio_of_medians(small: list[float], big: list[float]) -> float:
    return statistics.median(big) / statistics.median(small)


def send_ratio(stack: InProcessStack, repetitions: int = 5, big: int = BIG) -> dict[str, Any]:
    """POST /send with 10,000 numbers ÷ with 1, alternating, after one warm-up each."""
    merchant = stack.new_merchant(webhook=False)
    one, many = numbers(1), numbers(big)
    samples: dict[str, list[tuple[float, float, Tally]]] = {"one": [], "many": []}
    for repetition in range(repetitions + 1):
        for label, batch in (("one", one), ("many", many)) if repetition % 2 else (("many", many), ("one", one)):
            sample = timed(stack, lambda batch=batch: stack.send(merchant, batch))  # type: ignore[misc]
            stack.purge_dispatch_queue()
            if repetition:
                samples[label].append(sample)
    return {
        "wall_ratio": _ratio_of_medians([s[0] for s in samples["one"]], [s[0] for s in samples["many"]]),
        "own_ratio": _ratio_of_medians([s[1] for s in samples["one"]], [s[1] for s in samples["many"]]),
        "one_seconds": statistics.median(s[0] for s in samples["one"]),
        "many_seconds": statistics.median(s[0] for s in samples["many"]),
        "own_one_seconds": statistics.median(s[1] for s in samples["one"]),
        "own_many_seconds": statistics.median(s[1] for s in samples["many"]),
        "requests_one": dict(samples["one"][0][2].requests),
        "requests_many": dict(samples["many"][0][2].requests),
        "repetitions": repetitions,
    }


def status_ratio(
    stack: InProcessStack, big: dict[str, Any], page: dict[str, Any], repetitions: int = 15
) -> dict[str, Any]:
    """GET /status of the 10,000-recipient lifecycle's message ÷ of a finished 1-recipient one,
    and ÷ of the 100-recipient one (the same 100-row first page: what is left is growth with
    the message's size), each read by its own merchant, in rotating order after a warm-up."""
    small = lifecycle(stack, 1)
    stack.endpoint.received = 0
    reads = {
        label: (Merchant(org_id=figures["org_id"], app_key=""), figures["message_id"])
        for label, figures in (("small", small), ("page", page), ("big", big))
    }
    samples: dict[str, list[tuple[float, float, Tally]]] = {label: [] for label in reads}
    labels = list(reads)
    for repetition in range(repetitions + 1):
        for label in labels[repetition % 3 :] + labels[: repetition % 3]:
            owner, message_id = reads[label]
            sample = timed(stack, lambda owner=owner, message_id=message_id: stack.status(owner, message_id))  # type: ignore[misc]
            if repetition:
                samples[label].append(sample)

    def ratio(of: str, to: str, *, wall: bool) -> float:
        def seconds(sample: tuple[float, float, Tally]) -> float:
            return sample[0] if wall else sample[1]

        return _ratio_of_medians([seconds(s) for s in samples[to]], [seconds(s) for s in samples[of]])

    small_tally, big_tally = samples["small"][0][2], samples["big"][0][2]
    return {
        "wall_ratio": ratio("big", "small", wall=True),
        "own_ratio": ratio("big", "small", wall=False),
        "same_page_wall_ratio": ratio("big", "page", wall=True),
        "same_page_own_ratio": ratio("big", "page", wall=False),
        "requests_small": dict(small_tally.requests),
        "requests_big": dict(big_tally.requests),
        "read_units_small": small_tally.read_units,
        "read_units_big": big_tally.read_units,
        "repetitions": repetitions,
    }


# --- 4. the sweep ----------------------------------------------------------------------------

IDLE_MESSAGES = 100_000
DUE_MESSAGES = 1_000


def _partition(stack: InProcessStack, pk: str) -> list[dict[str, Any]]:
    with stack.meter.paused():
        response = stack.aws("dynamodb").query(
            TableName=stack.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )
    items: list[dict[str, Any]] = response["Items"]
    return items


def _clone(
    items: list[dict[str, Any]], old_pk: str, message_id: str, due_at: str, sent_at: str | None = None
) -> list[dict[str, Any]]:
    """The items of a message's partition under a new message id, due at ``due_at`` (and, with
    ``sent_at``, dispatched and handed off then: its deadline has passed for every recipient)."""
    from lisoloo.storage import keys  # the key and shard rules, so clones spread as real messages do

    org_id, _ = keys.message_of_pk(old_pk)
    pk = keys.message_pk(org_id, message_id)
    clones = []
    for item in items:
        clone = dict(item, PK={"S": pk})
        if "message_id" in clone:
            clone["message_id"] = {"S": message_id}
        if "due_at" in clone:
            clone["due_at"] = {"S": due_at}
            clone["due_shard"] = {"S": keys.due_shard(pk)}
        for moment in ("started_at", "handed_off_at"):
            if sent_at is not None and moment in clone:
                clone[moment] = {"S": sent_at}
        clones.append(clone)
    return clones


def _bulk_put(stack: InProcessStack, items: list[dict[str, Any]]) -> None:
    """Straight into moto's table (no requests, no stream records): only the sweep is measured."""
    table = stack.moto_table()
    shard, table.stream_shard = table.stream_shard, None
    try:
        for item in items:
            table.put_item(item)
    finally:
        table.stream_shard = shard


def sweep(stack: InProcessStack) -> dict[str, Any]:
    """The sweep with 0 due among 100,000 idle messages, then with 1,000 due. Idle: dispatched
    messages waiting for receipts (their 24 h deadline in the due index, not yet due). Due:
    the same, past the deadline (dispatched 25 hours ago), each with one recipient handed off
    and never receipted."""
    from lisoloo.identifiers import new_message_id

    merchant = stack.new_merchant(webhook=False)
    with stack.meter.paused():
        _, body = stack.send(merchant, numbers(1))
        stack.dispatch_all()
        stack.carrier.take()
    template_id = body["data"]["message_id"]
    template_pk = f"ORG#{merchant.org_id}#MSG#{template_id}"
    items = _partition(stack, template_pk)
    meta = [item for item in items if item["SK"]["S"] == "META"]
    now = datetime.now(UTC)
    later = (now + timedelta(hours=23)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    earlier = (now - timedelta(minutes=5)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    sent = (now - timedelta(hours=25)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    started = time.perf_counter()
    idle: list[dict[str, Any]] = []
    for index in range(IDLE_MESSAGES):
        idle.extend(_clone(meta, template_pk, new_message_id(now.timestamp() - index), later))
    _bulk_put(stack, idle)
    with stack.meter.paused():
        stack.aws("dynamodb").delete_item(
            TableName=stack.table_name, Key={"PK": {"S": template_pk}, "SK": {"S": "META"}}
        )
    loaded = time.perf_counter() - started
    event = load_event("sweep-scheduled")

    with stack.meter.paused():
        carriers = len(stack.repository().carriers.configs())  # each judged once a sweep
    with stack.meter.tally() as idle_tally:
        idle_summary = stack.invoke("sweep", event, timeout_seconds=60)
    due: list[dict[str, Any]] = []
    for _ in range(DUE_MESSAGES):
        due.extend(_clone(items, template_pk, new_message_id(now.timestamp()), earlier, sent_at=sent))
    _bulk_put(stack, due)
    with stack.meter.tally() as due_tally:
        # All the time it takes: every due message is swept, whatever moto's speed.
        due_summary = stack.invoke("sweep", event, timeout_seconds=10**6)
    return {
        "idle_messages": IDLE_MESSAGES,
        "carriers": carriers,
        "idle": tally_figures(idle_tally),
        "idle_summary": idle_summary,
        "due_messages": DUE_MESSAGES,
        "due": tally_figures(due_tally),
        "due_summary": due_summary,
        "load_seconds": loaded,
    }


# --- 5. a flood of unknown receipts ------------------------------------------------------------

FLOOD_RECEIPTS = 5_000
FLOOD_REAL = 100


def receipt_flood(stack: InProcessStack, unknown: int = FLOOD_RECEIPTS, real: int = FLOOD_REAL) -> dict[str, Any]:
    """Issue 14's attack: one POST of ``unknown`` receipts naming messages that do not exist,
    with a real message's ``real`` receipts among them, then receipt-apply over its jobs. What the
    flood costs is receipt-apply's DynamoDB requests beyond those the real receipts need alone
    (measured first, on a message of the same size)."""
    from lisoloo.entities import RecipientKey
    from lisoloo.identifiers import new_message_id

    def post(reports: list[dict[str, str]]) -> int:
        headers = {"x-carrier-token": stack.carrier_token}
        code, reply = stack.api("receipts", "receipts-sandbox", None, body=reports, headers=headers)
        if code != 200:
            raise RuntimeError(f"receipts answered {code}: {reply}")
        return int(reply["data"]["received"])

    def real_receipts() -> tuple[str, list[dict[str, str]]]:
        with stack.meter.paused():
            _, body = stack.send(merchant, numbers(real))
            stack.dispatch_all()
            references = stack.carrier.take()
        return body["data"]["message_id"], [{"carrier_ref": ref, "status": "delivered"} for ref in references]

    merchant = stack.new_merchant(webhook=False)
    alone_id, alone = real_receipts()
    with stack.meter.paused():
        post(alone)
    with stack.meter.tally() as alone_tally:
        stack.drain()

    message_id, reports = real_receipts()
    made_up = [RecipientKey(merchant.org_id, new_message_id(), index % 10_000) for index in range(unknown)]
    flood = [{"carrier_ref": key.reference, "status": "delivered"} for key in made_up]
    step = max(1, unknown // real)
    for position, report in enumerate(reports):  # spread through the flood, as an attacker's POST would mix them
        flood.insert(position * (step + 1), report)
    with stack.meter.paused():
        queued = post(flood)
    with stack.meter.tally() as flood_tally:
        stack.drain()
    _, status = stack.status(merchant, message_id)
    data = status["data"]
    extra = flood_tally.service_requests("dynamodb") - alone_tally.service_requests("dynamodb")
    return {
        "unknown": unknown,
        "real": real,
        "queued": queued,
        "alone": tally_figures(alone_tally),
        "flood": tally_figures(flood_tally),
        "dynamodb_requests_per_unknown": extra / unknown,
        "final": [data["status"], data["delivered"], data["pending"]],
        "correct": data["delivered"] == real and data["pending"] == 0 and queued == unknown + real,
        "alone_message_id": alone_id,
    }


# --- two-way (DESIGN §9): what the suppression list costs at dispatch ---------------------------

SUPPRESSION_RECIPIENTS = 1_000


def suppression_reads(stack: InProcessStack, count: int = SUPPRESSION_RECIPIENTS) -> dict[str, Any]:
    """Dispatch of one send of ``count`` numbers, for an organization with no suppressions and for
    one that suppressed a tenth of them: DynamoDB reads per recipient, and BatchGetItem requests
    per chunk (the list is checked at most once per chunk of 100)."""
    from lisoloo.entities import chunk_count

    def dispatched(suppressed: list[str]) -> dict[str, Any]:
        merchant = stack.new_merchant(webhook=False)
        with stack.meter.paused():
            if suppressed:
                stack.repository().suppressions.add_many(merchant.org_id, suppressed, "bench", datetime.now(UTC))
            code, body = stack.send(merchant, numbers(count))
            if code != 200:
                raise RuntimeError(f"send answered {code}: {body}")
        with stack.meter.tally() as tally:
            stack.dispatch_all()
        submitted = len(stack.carrier.take())
        figures = tally_figures(tally)
        reads = tally.requests["dynamodb.BatchGetItem"]
        return {
            "suppressed": len(suppressed),
            "submitted": submitted,
            "batch_gets_per_chunk": reads / chunk_count(count),
            "read_units_per_recipient": figures["read_units"] / count,
            "dynamodb_read_requests_per_recipient": sum(
                number
                for name, number in tally.requests.items()
                if name in ("dynamodb.GetItem", "dynamodb.BatchGetItem", "dynamodb.Query")
            )
            / count,
            "write_units_per_recipient": figures["write_units"] / count,
        }

    every = numbers(count)
    without = dispatched([])
    with_some = dispatched(every[::10])
    return {
        "recipients": count,
        "without": without,
        "with": with_some,
        "correct": without["submitted"] == count and with_some["submitted"] == count - count // 10,
    }


# --- 9. finding messages (DESIGN §11) --------------------------------------------------------

FIND_MESSAGES = 150
FIND_PAGE = 50


def find_messages(stack: InProcessStack, count: int = FIND_MESSAGES) -> dict[str, Any]:
    """GET /messages pages of an organization with ``count`` dispatched messages (one number
    each; every tenth to one shared number): the first page, a page by recipient, and a page
    filtered by status, each counted alone."""
    merchant = stack.new_merchant(webhook=False)
    shared = "+254799999999"
    with stack.meter.paused():
        for index in range(count):
            stack.send(merchant, [shared] if index % 10 == 0 else numbers(count)[index : index + 1])
        stack.drain()
    pages: dict[str, Any] = {}
    for label, query in (
        ("newest", {"limit": str(FIND_PAGE)}),
        ("by_recipient", {"limit": str(FIND_PAGE), "recipient": shared}),
        ("by_status", {"limit": str(FIND_PAGE), "status": "sent"}),
    ):
        with stack.meter.tally() as tally:
            code, body = stack.api("messages", "messages-list", merchant, query=query)
        if code != 200:
            raise RuntimeError(f"GET /messages answered {code}: {body}")
        pages[label] = {
            "listed": len(body["data"]["messages"]),
            "requests": dict(tally.requests),
            "read_units": tally.read_units,
        }
    return {"messages": count, "page": FIND_PAGE, "pages": pages}
