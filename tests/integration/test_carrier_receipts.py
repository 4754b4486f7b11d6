"""Real carriers' receipts through the receipts function on moto: Kannel's dlr-url GETs,
Jasmin's form POSTs, a JSON aggregator whose receipts name its own ids (lookup items and
parking), and multi-part recipients reported part by part.

Time moves by handing the sweep a later ``now``; nothing sleeps.
"""

from __future__ import annotations

import json
import math
import random
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from lisoloo.carriers import CarrierReceipt, ReceiptRequest, Submission, SubmitOutcome, SubmitResult
from lisoloo.carriers.generic import GenericHttpCarrier, GenericHttpConfig, HttpCarrierMapping
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.dependencies import dispatch_queue, receipts_queue
from lisoloo.entities import RecipientKey
from lisoloo.settings import get_settings
from lisoloo.status import SmsStatus
from lisoloo.sweeping import Sweeper
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, apply_queued_receipts, load_function

BASE = "/api/v1/lisoloo/sms-api/receipts"
LONG_TEXT = "Your parcel 4821 is on its way. " * 6  # two GSM-7 parts


@dataclass
class Carriers:
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(autouse=True)
def carriers(harness: Harness) -> Carriers:
    """Only this test's items (the sweep reads the whole due index), and every carrier's token."""
    from lisoloo_admin.provisioning import register_carrier

    harness.wipe_table()
    registered = Carriers()
    for name in ("sandbox", "kannel", "jasmin", "http"):
        registered.tokens[name] = register_carrier(harness.repository(), name)
    harness.carrier_token = registered.tokens["sandbox"]
    return registered


def send_and_dispatch(
    harness: Harness, text: str = "Your code is 4821", to: Sequence[str] = ("+254712345678",)
) -> tuple[Merchant, str]:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": list(to), "message": text})
    assert code == 200, body
    harness.dispatch_queued()
    return merchant, body["data"]["message_id"]


def reference(merchant: Merchant, message_id: str, index: int = 0) -> str:
    return RecipientKey(merchant.org_id, message_id, index).reference


def status_of(harness: Harness, merchant: Merchant, message_id: str) -> dict[str, Any]:
    code, body = harness.status(merchant, message_id)
    assert code == 200, body
    data: dict[str, Any] = body["data"]
    return data


def recipient_states(harness: Harness, merchant: Merchant, message_id: str) -> list[tuple[str, int | None]]:
    return [(row["status"], row["error_code"]) for row in status_of(harness, merchant, message_id)["recipients"]]


def receipts_call(
    carrier: str, *, method: str, query: dict[str, str], body: str | None = None, content_type: str | None = None
) -> dict[str, Any]:
    """The receipts function invoked as API Gateway would for a carrier's request."""
    event = load_event("receipts-kannel-get" if method == "GET" else "receipts-jasmin-post")
    event["path"] = f"{BASE}/{carrier}"
    event["pathParameters"] = {"carrier": carrier}
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    event["body"] = body
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    response: dict[str, Any] = load_function("receipts").lambda_handler(event, lambda_context())
    if response["statusCode"] == 200:
        # The receipts queue's event source hands what was queued to receipt-apply.
        response["applied"] = apply_queued_receipts().applied
    return response


def kannel_dlr(token: str, ref: str, status: str, *, answer: str = "", foreign_id: str = "") -> dict[str, Any]:
    query = {"token": token, "ref": ref, "status": status, "answer": answer, "foreign_id": foreign_id}
    return receipts_call("kannel", method="GET", query={**query, "smsc_id": "smsc1", "ts": "1795432426"})


def smpp_receipt(stat: str) -> str:
    return (
        f"id:7220011 sub:001 dlvrd:000 submit date:2611231113 done date:2611231114 stat:{stat} err:00B text:Your code"
    )


# --- Kannel: GET with the query string of our dlr-url --------------------------------------


def test_kannel_dlrs_move_a_recipient_to_sent_then_delivered(harness: Harness, carriers: Carriers) -> None:
    harness.route_all_to("kannel")
    merchant, message_id = send_and_dispatch(harness)
    ref = reference(merchant, message_id)

    ack = kannel_dlr(carriers.tokens["kannel"], ref, "8", answer="ACK/")
    assert ack["statusCode"] == 200
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]

    final = kannel_dlr(carriers.tokens["kannel"], ref, "1", foreign_id="8c0c37a2-0c3b-46ac-b1db-0550b6342b78")
    assert (final["statusCode"], json.loads(final["body"])["data"], final["applied"]) == (200, {"received": 1}, 1)
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 1, 0, 0)


@pytest.mark.parametrize(
    ("code", "answer", "state"),
    [
        ("2", smpp_receipt("EXPIRED"), ("expired", 1403)),
        ("2", smpp_receipt("UNDELIV"), ("undelivered", 1402)),
        ("2", "", ("undelivered", 1402)),
        ("16", "NACK/0x0000000b/Invalid Destination Address", ("rejected", 1401)),
        ("2", smpp_receipt("UNKNOWN"), ("delivery_unknown", 1405)),
    ],
)
def test_kannel_failures(harness: Harness, carriers: Carriers, code: str, answer: str, state: tuple[str, int]) -> None:
    harness.route_all_to("kannel")
    merchant, message_id = send_and_dispatch(harness)
    assert (
        kannel_dlr(carriers.tokens["kannel"], reference(merchant, message_id), code, answer=answer)["statusCode"] == 200
    )
    assert recipient_states(harness, merchant, message_id) == [state]
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("failed", 0, 1, 0)


@pytest.mark.parametrize(
    "query",
    [
        {"status": "1"},  # no reference
        {"ref": "REF", "status": ""},  # no DLR type
        {"ref": "REF", "status": "delivered"},  # not a DLR type
        {"ref": "REF", "status": "0"},  # a type with no bit we know
        {"ref": "REF", "status": "32"},
        {"ref": "org_00000000000000ff.6a1c0e5f0123456789abcdef.0", "status": "1"},  # nobody's recipient
        {"ref": "not.a.reference.at.all", "status": "1"},
    ],
)
def test_unreadable_or_unknown_kannel_dlrs_answer_200_and_change_nothing(
    harness: Harness, carriers: Carriers, query: dict[str, str]
) -> None:
    harness.route_all_to("kannel")
    merchant, message_id = send_and_dispatch(harness)
    ref = reference(merchant, message_id)
    values = {name: value.replace("REF", ref) for name, value in query.items()}
    response = receipts_call("kannel", method="GET", query={"token": carriers.tokens["kannel"], **values})
    assert response["statusCode"] == 200
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]


def test_a_kannel_dlr_for_a_recipient_another_carrier_handled_changes_nothing(
    harness: Harness, carriers: Carriers
) -> None:
    merchant, message_id = send_and_dispatch(harness)  # through the sandbox
    assert kannel_dlr(carriers.tokens["kannel"], reference(merchant, message_id), "2")["statusCode"] == 200
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]


def test_a_kannel_dlr_with_a_wrong_token_is_401_and_an_unknown_carrier_404(
    harness: Harness, carriers: Carriers
) -> None:
    harness.route_all_to("kannel")
    merchant, message_id = send_and_dispatch(harness)
    ref = reference(merchant, message_id)
    assert kannel_dlr(carriers.tokens["jasmin"], ref, "1")["statusCode"] == 401
    assert receipts_call("nosuch", method="GET", query={"token": "x", "ref": ref, "status": "1"})["statusCode"] == 404
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]


def test_a_split_message_is_settled_by_kannels_one_final_dlr(harness: Harness, carriers: Carriers) -> None:
    harness.route_all_to("kannel")
    merchant, message_id = send_and_dispatch(harness, LONG_TEXT)
    assert status_of(harness, merchant, message_id)["status"] == "sent"
    kannel_dlr(carriers.tokens["kannel"], reference(merchant, message_id), "1", foreign_id="first-part-id")
    assert recipient_states(harness, merchant, message_id) == [("delivered", None)]


# --- Jasmin: POST form to our dlr-url, answered ACK/Jasmin ---------------------------------


def jasmin_dlr(token: str, ref: str, fields: dict[str, str]) -> dict[str, Any]:
    return receipts_call(
        "jasmin",
        method="POST",
        query={"token": token, "ref": ref},
        body=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


JASMIN_ID = "16fd2706-8baf-433b-82eb-8c7fada847da"


def test_jasmin_dlrs_are_acknowledged_the_way_jasmin_needs(harness: Harness, carriers: Carriers) -> None:
    harness.route_all_to("jasmin")
    merchant, message_id = send_and_dispatch(harness)
    ref = reference(merchant, message_id)
    token = carriers.tokens["jasmin"]

    level1 = jasmin_dlr(token, ref, {"id": JASMIN_ID, "message_status": "ESME_ROK", "level": "1"})
    assert (level1["statusCode"], level1["body"]) == (200, "ACK/Jasmin")
    assert level1["multiValueHeaders"]["Content-Type"] == ["text/plain"]
    final = {
        "id": JASMIN_ID,
        "id_smsc": "2567",
        "message_status": "DELIVRD",
        "level": "3",
        "subdate": "1311022338",
        "donedate": "1311022338",
        "sub": "1",
        "dlvrd": "1",
        "err": "0",
        "text": "Your code is 4821",
    }
    for _ in range(2):  # Jasmin re-throws a DLR it thinks was not acknowledged: counted once
        response = jasmin_dlr(token, ref, final)
        assert (response["statusCode"], response["body"]) == (200, "ACK/Jasmin")
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"]) == ("delivered", 1, 0)


def test_an_smsc_refusal_reported_by_jasmin_rejects(harness: Harness, carriers: Carriers) -> None:
    harness.route_all_to("jasmin")
    merchant, message_id = send_and_dispatch(harness)
    response = jasmin_dlr(
        carriers.tokens["jasmin"],
        reference(merchant, message_id),
        {"id": JASMIN_ID, "message_status": "ESME_RINVDSTADR", "level": "1"},
    )
    assert response["body"] == "ACK/Jasmin"
    assert recipient_states(harness, merchant, message_id) == [("rejected", 1401)]


def test_an_unreadable_jasmin_post_is_still_acknowledged(harness: Harness, carriers: Carriers) -> None:
    response = jasmin_dlr(carriers.tokens["jasmin"], "x", {"nothing": "useful"})
    assert (response["statusCode"], response["body"]) == (200, "ACK/Jasmin")


# --- a JSON aggregator with ids of its own: lookup items, parking --------------------------


@dataclass
class AggregatorCarrier:
    """Dispatch's side of an aggregator whose receipts name its own ids: one id per part."""

    name: str = "http"
    prefix: str = field(default_factory=lambda: f"agg-{uuid.uuid4().hex[:8]}")
    receipt_acknowledgement: str | None = None

    def ids_for(self, reference: str, segments: int) -> tuple[str, ...]:
        return tuple(f"{self.prefix}-{reference}-{part}" for part in range(1, segments + 1))

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        results = []
        for submission in submissions:
            ids = self.ids_for(submission.reference, submission.segments)
            results.append(SubmitResult(submission.reference, SubmitOutcome.ACCEPTED, ids[0], lookup_refs=ids))
        return results

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        raise AssertionError("receipts go through the generic connector")


@pytest.fixture
def aggregator(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> AggregatorCarrier:
    """Dispatch submits through the aggregator; receipts are read by the generic connector
    with per-part receipts (each part has its own id)."""
    carrier = AggregatorCarrier()
    harness.route_all_to(carrier.name)
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", lambda name: carrier)
    mapping = HttpCarrierMapping.model_validate({"receipt": {"per_part": True, "error": "err"}})
    connector = GenericHttpCarrier(
        GenericHttpConfig(name="http", url="http://127.0.0.1:9", receipts_base_url="", mapping=mapping),
        lambda: CarrierSecrets(),
    )
    monkeypatch.setattr(load_function("receipts"), "carrier_connector", lambda name: connector)
    return carrier


def aggregator_receipts(token: str, *reports: tuple[str, str]) -> dict[str, Any]:
    body = json.dumps([{"id": carrier_id, "status": status} for carrier_id, status in reports])
    return receipts_call("http", method="POST", query={"token": token}, body=body, content_type="application/json")


def sweeper(harness: Harness, carrier: AggregatorCarrier) -> Sweeper:
    return Sweeper(
        repository=harness.repository(),
        queue=dispatch_queue(),
        carrier_for=lambda name: carrier,
        settings=get_settings(),
        receipts_waiting=receipts_queue().holds_jobs,
    )


def parked_items(harness: Harness) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items = client.scan(TableName=harness.table_name)["Items"]
    return [item for item in items if item["SK"]["S"].startswith("PARKED#")]


def test_receipts_naming_the_aggregators_id_find_the_recipient_through_the_lookup_item(
    harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier
) -> None:
    merchant, message_id = send_and_dispatch(harness, to=("+254712345678", "+254733000001"))
    first = aggregator.ids_for(reference(merchant, message_id, 0), 1)[0]
    second = aggregator.ids_for(reference(merchant, message_id, 1), 1)[0]
    response = aggregator_receipts(carriers.tokens["http"], (first, "delivered"), (second, "undelivered"))
    assert (json.loads(response["body"])["data"], response["applied"]) == ({"received": 2}, 2)
    assert recipient_states(harness, merchant, message_id) == [("delivered", None), ("undelivered", 1402)]


def test_a_receipt_that_outruns_the_submit_response_is_parked_then_applied(
    harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier
) -> None:
    # Given a message whose recipient the aggregator will know as `carrier_id`
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Your code is 4821"})
    assert code == 200
    message_id = body["data"]["message_id"]
    carrier_id = aggregator.ids_for(reference(merchant, message_id), 1)[0]

    # When its receipt arrives before dispatch has recorded the hand-off (twice: re-sent)
    for _ in range(2):
        assert aggregator_receipts(carriers.tokens["http"], (carrier_id, "delivered"))["statusCode"] == 200
    # Then it is kept, once, and nothing moved yet
    assert len(parked_items(harness)) == 1
    assert status_of(harness, merchant, message_id)["status"] == "pending"

    # When dispatch records the hand-off, and the sweep comes by
    harness.dispatch_queued()
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]
    summary = sweeper(harness, aggregator).sweep(datetime.now(UTC) + timedelta(seconds=31), lambda: 900.0)

    # Then the parked receipt is applied and gone
    assert summary.unparked == 1
    assert recipient_states(harness, merchant, message_id) == [("delivered", None)]
    assert parked_items(harness) == []


def test_a_parked_receipt_whose_id_never_shows_up_is_given_up_after_ten_minutes_but_kept(
    harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier
) -> None:
    assert aggregator_receipts(carriers.tokens["http"], ("agg-never-submitted", "delivered"))["statusCode"] == 200
    sweep = sweeper(harness, aggregator)
    now = datetime.now(UTC)
    for minutes in (1, 5, 9):
        sweep.sweep(now + timedelta(minutes=minutes), lambda: 900.0)
        [item] = parked_items(harness)
        assert "due_at" in item  # still being retried
    sweep.sweep(now + timedelta(minutes=10, seconds=1), lambda: 900.0)
    [item] = parked_items(harness)
    assert "due_at" not in item  # left the due index: given up, logged, counted, kept for a week
    assert item["carrier_ref"]["S"] == "agg-never-submitted"
    assert item["status"]["S"] == "delivered"


# --- multi-part recipients, reported part by part -------------------------------------------


@pytest.mark.parametrize(
    ("parts", "state", "counters"),
    [
        (("delivered", "delivered"), ("delivered", None), (1, 0)),
        (("delivered", "undelivered"), ("partially_delivered", 1404), (0, 1)),
        (("expired", "delivered"), ("partially_delivered", 1404), (0, 1)),
        (("expired", "expired"), ("expired", 1403), (0, 1)),
        (("rejected", "undelivered"), ("rejected", 1401), (0, 1)),
    ],
)
def test_a_two_part_recipient_ends_by_what_became_of_both_parts(
    harness: Harness,
    carriers: Carriers,
    aggregator: AggregatorCarrier,
    parts: tuple[str, str],
    state: tuple[str, int | None],
    counters: tuple[int, int],
) -> None:
    merchant, message_id = send_and_dispatch(harness, LONG_TEXT, to=("+254712345678", "+254733000001"))
    assert status_of(harness, merchant, message_id)["recipients"][0]["status"] == "sent"
    first, second = aggregator.ids_for(reference(merchant, message_id), 2)
    token = carriers.tokens["http"]

    aggregator_receipts(token, (first, parts[0]))
    aggregator_receipts(token, (first, parts[0]))  # re-sent: that part counts once
    assert recipient_states(harness, merchant, message_id)[0] == ("sent", None)

    aggregator_receipts(token, (second, parts[1]))
    assert recipient_states(harness, merchant, message_id)[0] == state
    data = status_of(harness, merchant, message_id)
    assert (data["delivered"], data["failed"], data["pending"]) == (*counters, 1)
    # A late receipt for a part changes nothing once the recipient is final.
    aggregator_receipts(token, (second, "delivered"))
    assert recipient_states(harness, merchant, message_id)[0] == state


def test_both_parts_in_one_request(harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier) -> None:
    merchant, message_id = send_and_dispatch(harness, LONG_TEXT)
    first, second = aggregator.ids_for(reference(merchant, message_id), 2)
    aggregator_receipts(carriers.tokens["http"], (first, "delivered"), (second, "delivered"))
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 1, 0, 0)


def test_a_last_part_counted_before_a_crash_is_settled_by_the_carriers_retry(
    harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier
) -> None:
    # Given both parts counted on the row, but the final move lost (the function died between)
    merchant, message_id = send_and_dispatch(harness, LONG_TEXT)
    key = RecipientKey(merchant.org_id, message_id, 0)
    first, second = aggregator.ids_for(key.reference, 2)
    repository = harness.repository()
    assert repository.recipients.record_part_outcome(key, "http", first, SmsStatus.DELIVERED).recorded
    progress = repository.recipients.record_part_outcome(key, "http", second, SmsStatus.UNDELIVERED)
    assert (progress.delivered, progress.failed, progress.reported) == (1, 1, 2)
    assert recipient_states(harness, merchant, message_id) == [("sent", None)]

    # When the carrier re-sends the last receipt (it got no 2xx)
    aggregator_receipts(carriers.tokens["http"], (second, "undelivered"))

    # Then the recipient is settled, counters and all
    assert recipient_states(harness, merchant, message_id) == [("partially_delivered", 1404)]
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("failed", 0, 1, 0)


def test_a_part_receipt_for_a_one_part_recipient_settles_it_at_once(
    harness: Harness, carriers: Carriers, aggregator: AggregatorCarrier
) -> None:
    merchant, message_id = send_and_dispatch(harness)
    [only] = aggregator.ids_for(reference(merchant, message_id), 1)
    aggregator_receipts(carriers.tokens["http"], (only, "delivered"))
    assert recipient_states(harness, merchant, message_id) == [("delivered", None)]


# --- receipts in bulk: queued by the endpoint, applied per message in transactions of 99 ----


@dataclass
class MessageItemWrites:
    """Every DynamoDB request of the layer's client that writes the message item (its
    ``META``), counted with a botocore event hook: transactions that include it too."""

    pk: str
    requests: int = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        items = [next(iter(item.values())) for item in params.get("TransactItems", [])] or [params]
        if any(self._is_message_item(item.get("Key") or item.get("Item") or {}) for item in items):
            self.requests += 1

    def _is_message_item(self, key: dict[str, Any]) -> bool:
        return key.get("PK") == {"S": self.pk} and key.get("SK") == {"S": "META"}


def counted_message_writes(merchant: Merchant, message_id: str) -> MessageItemWrites:
    from lisoloo.dependencies import repository

    writes = MessageItemWrites(f"ORG#{merchant.org_id}#MSG#{message_id}")
    for operation in ("TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"):
        repository().client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", writes)
    return writes


def stop_counting(writes: MessageItemWrites) -> None:
    from lisoloo.dependencies import repository

    for operation in ("TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"):
        repository().client.meta.events.unregister(f"before-parameter-build.dynamodb.{operation}", writes)


def post_sandbox_receipts(token: str, reports: Sequence[tuple[str, str]], concurrency: int = 16) -> list[int]:
    """The sandbox carrier's receipt POSTs, ``concurrency`` at a time; the endpoint only
    queues them. Returns the status codes."""

    # One container answers one request at a time, as Lambda runs them: Powertools' resolver
    # keeps the current request on the app, so two at once in one process mix them up (a
    # KeyError '_route' and a 500 under load). What these tests are about, the queued receipts
    # and the batches that apply them, is the same either way.
    container = threading.Lock()

    def post(report: tuple[str, str]) -> int:
        event = load_event("receipts-sandbox")
        event["headers"]["x-carrier-token"] = token
        event["multiValueHeaders"]["x-carrier-token"] = [token]
        event["body"] = json.dumps({"carrier_ref": report[0], "status": report[1]})
        with container:
            response = load_function("receipts").lambda_handler(event, lambda_context())
        return int(response["statusCode"])

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(post, reports))


def numbers(count: int) -> list[str]:
    # Suffixes 1000.. never hit the fake carrier's rejecting or failing numbers (…0002, …0005, …0006).
    return [f"+2547120{1000 + index:05d}" for index in range(count)]


# Three transactions' worth; `make bench` runs the 1,000 receipts of its scenario 5.
COUNT = 297


def test_concurrent_receipts_for_one_message_write_its_item_once_per_99(harness: Harness, carriers: Carriers) -> None:
    # Given a message to three times 99 recipients, all handed to the carrier
    merchant, message_id = send_and_dispatch(harness, to=numbers(COUNT))
    references = [reference(merchant, message_id, index) for index in range(COUNT)]
    writes = counted_message_writes(merchant, message_id)
    try:
        # When they all arrive at once: every one is answered 2xx and queued
        expected = {index: ("undelivered" if index % 10 == 0 else "delivered") for index in range(COUNT)}
        codes = post_sandbox_receipts(carriers.tokens["sandbox"], [(references[i], s) for i, s in expected.items()])
        assert codes == [200] * COUNT
        assert writes.requests == 0  # nothing applied on the request path
        # ...and receipt-apply takes them as its event source batches them
        summary = harness.apply_queued_receipts()
    finally:
        stop_counting(writes)

    # Then none is lost, the counters are exact, and the message item was written ≤ once per 99
    assert (summary.received, summary.applied, summary.ignored) == (COUNT, COUNT, 0)
    code, body = harness.status(merchant, message_id, {"recipients_limit": str(COUNT)})
    assert code == 200
    data = body["data"]
    assert [row["status"] for row in data["recipients"]] == list(expected.values())
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", COUNT - 30, 30, 0)
    assert writes.requests <= math.ceil(COUNT / 99) == 3


def test_duplicate_and_out_of_order_receipts_in_one_batch_and_the_next_keep_counters_exact(
    harness: Harness, carriers: Carriers
) -> None:
    # Given 40 handed-off recipients
    merchant, message_id = send_and_dispatch(harness, to=numbers(40))
    references = [reference(merchant, message_id, index) for index in range(40)]
    # When one batch holds, per recipient, its final receipt, a late "sent" and a re-sent final one
    reports = [(ref, state) for ref in references for state in ("delivered", "sent", "delivered")]
    random.Random(6).shuffle(reports)
    assert set(post_sandbox_receipts(carriers.tokens["sandbox"], reports)) == {200}
    writes = counted_message_writes(merchant, message_id)
    try:
        first = harness.apply_queued_receipts()
        # And the carrier sends all of them again, applied in a batch of their own
        post_sandbox_receipts(carriers.tokens["sandbox"], reports)
        again = harness.apply_queued_receipts()
    finally:
        stop_counting(writes)
    # Then each recipient moved once, and the counters say exactly that
    assert (first.received, first.applied) == (120, 40)
    assert (again.received, again.applied) == (120, 0)
    data = status_of(harness, merchant, message_id)
    assert (data["status"], data["delivered"], data["failed"], data["pending"]) == ("delivered", 40, 0, 0)
    # One transaction for the first batch; the re-sent batch is refused row by row, so its
    # cancelled transaction never reaches the counters.
    assert writes.requests <= 2


def test_a_job_that_cannot_be_applied_stays_queued_alone_and_is_applied_later(
    harness: Harness, carriers: Carriers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two messages' receipts queued, one of them for a message whose writes fail
    merchant, good_id = send_and_dispatch(harness)
    other, bad_id = send_and_dispatch(harness)
    good, bad = reference(merchant, good_id), reference(other, bad_id)
    from lisoloo.storage.recipients import Recipients

    real = Recipients.apply_transitions

    def failing(self: Recipients, transitions: Any, **options: Any) -> Any:
        if any(transition.key.message_id == bad_id for transition in transitions):
            raise RuntimeError("storage outage for one message")
        return real(self, transitions, **options)

    assert post_sandbox_receipts(carriers.tokens["sandbox"], [(good, "delivered"), (bad, "delivered")]) == [200, 200]
    with monkeypatch.context() as patch:
        patch.setattr(Recipients, "apply_transitions", failing)
        summary = harness.apply_queued_receipts()
    # Then the good one is applied, the other reported failed and left on the queue
    assert summary.applied == 1
    assert status_of(harness, merchant, good_id)["delivered"] == 1
    assert status_of(harness, other, bad_id)["delivered"] == 0
    # When the outage is over, SQS gives it again
    assert harness.apply_queued_receipts().applied == 1
    assert status_of(harness, other, bad_id)["delivered"] == 1


def test_unreadable_receipts_are_not_queued(harness: Harness, carriers: Carriers) -> None:
    response = receipts_call("kannel", method="GET", query={"token": carriers.tokens["kannel"], "status": "1"})
    assert (response["statusCode"], json.loads(response["body"])["data"], response["applied"]) == (
        200,
        {"received": 0},
        0,
    )
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=harness.receipts_queue_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
