"""The generic JSON carrier against a loopback aggregator with a typical REST API: bearer
auth, a nested JSON body, an id in the reply, JSON callbacks to a per-message URL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.generic import GenericHttpCarrier, GenericHttpConfig, HttpCarrierMapping
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.status import SmsStatus
from tests.carriers.fakes import LoopbackServer, Reply, Seen, post_json, receipts_endpoint, wait_for

BASE_PATH = "/api/v1/lisoloo/sms-api"
TOKEN = "lct_generic-test-token"
BEARER = "Bearer agg-secret"

MAPPING = HttpCarrierMapping.model_validate(
    {
        "submit": {
            "to": "message.to",
            "text": "message.body",
            "sender": "message.from",
            "reference": "client_ref",
            "static": {"channel": "sms", "message": {"type": "text"}},
            "id": "data.message_id",
            "success": "status",
            "success_values": ["queued", "accepted"],
            "error": "error.code",
        },
        "receipt": {
            "items": "reports",
            "id": "message_id",
            "reference": "client_ref",
            "status": "state",
            "error": "error_code",
            "done_at": "timestamp",
            "statuses": {"DELIVERED": "delivered", "FAILED": "undelivered", "EXPIRED": "expired"},
        },
    }
)


def secrets() -> CarrierSecrets:
    return CarrierSecrets(authorization=BEARER, receipt_token=TOKEN)


def submission(index: int = 0, text: str = "Your code is 4821") -> Submission:
    return Submission(
        reference=f"org_0123456789abcdef.6a1c0e5f0123456789abcdef.{index}",
        to=f"+2547123456{index:02d}",
        text=text,
        sender_id="LISOLOO",
        segments=1,
    )


def carrier(
    url: str, mapping: HttpCarrierMapping = MAPPING, receipts: str = "http://127.0.0.1:9", **config: Any
) -> GenericHttpCarrier:
    settings = {"timeout_seconds": 2.0, **config}
    return GenericHttpCarrier(
        GenericHttpConfig(name="agg", url=url, receipts_base_url=receipts + BASE_PATH, mapping=mapping, **settings),
        secrets,
    )


class FakeAggregator:
    """Accepts ``POST /v1/messages`` with the right bearer token, answers
    ``{"status": "queued", "data": {"message_id": …}}``, and, when the message names a
    ``callback``, posts a delivery report there as JSON."""

    def __init__(self, *, verdict: str = "queued", delay: float = 0.0) -> None:
        self.verdict, self.delay = verdict, delay
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self.server = LoopbackServer(self.respond)

    def respond(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != BEARER:
            return Reply(401, json.dumps({"error": {"code": "UNAUTHORIZED"}}), "application/json")
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = seen.json
            if self.verdict != "queued":
                reply = {"status": self.verdict, "error": {"code": "INVALID_SENDER"}}
                return Reply(200, json.dumps(reply), "application/json")
            time.sleep(self.delay)  # while counted in flight
            message_id = f"agg-{uuid.uuid4().hex[:12]}"
            if body.get("callback"):
                report = {
                    "reports": [{"message_id": message_id, "state": "DELIVERED", "timestamp": "2026-11-23T11:14:00Z"}]
                }
                threading.Thread(target=post_json, args=(body["callback"], report), daemon=True).start()
            return Reply(
                200,
                json.dumps({"status": "queued", "data": {"message_id": message_id}}),
                "application/json",
            )
        finally:
            with self._lock:
                self.in_flight -= 1

    def __enter__(self) -> FakeAggregator:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url + "/v1/messages"


def test_a_submission_is_mapped_authenticated_and_its_id_kept_for_a_lookup() -> None:
    with FakeAggregator() as aggregator:
        [result] = carrier(aggregator.url).submit([submission()])
    assert result.outcome is SubmitOutcome.ACCEPTED
    assert result.carrier_ref and result.carrier_ref.startswith("agg-")
    # Its receipts will name that id, not our reference: dispatch writes a lookup item for it.
    assert result.lookup_refs == (result.carrier_ref,)
    [seen] = aggregator.server.seen
    assert seen.headers["authorization"] == BEARER
    assert seen.json == {
        "channel": "sms",
        "message": {"type": "text", "to": "+254712345600", "body": "Your code is 4821", "from": "LISOLOO"},
        "client_ref": "org_0123456789abcdef.6a1c0e5f0123456789abcdef.0",
    }


def test_with_a_callback_field_receipts_come_back_to_our_url_with_our_reference() -> None:
    mapping = MAPPING.model_copy(update={"submit": MAPPING.submit.model_copy(update={"callback_url": "callback"})})
    with FakeAggregator() as aggregator:
        parser = carrier(aggregator.url, mapping)
        with receipts_endpoint(parser) as (endpoint_server, endpoint):
            [result] = carrier(aggregator.url, mapping, endpoint_server.url).submit([submission(7)])
            assert wait_for(lambda: len(endpoint.receipts) == 1)
    assert result.outcome is SubmitOutcome.ACCEPTED and result.lookup_refs == ()
    [receipt] = endpoint.receipts
    assert receipt.status is SmsStatus.DELIVERED
    assert receipt.reference == "org_0123456789abcdef.6a1c0e5f0123456789abcdef.7"
    assert receipt.carrier_ref == result.carrier_ref
    assert receipt.done_at is not None and receipt.done_at.isoformat() == "2026-11-23T11:14:00+00:00"
    assert endpoint.tokens == [TOKEN]


def test_a_2xx_whose_verdict_is_not_a_success_value_is_a_rejection() -> None:
    with FakeAggregator(verdict="failed") as aggregator:
        [result] = carrier(aggregator.url).submit([submission()])
    assert (result.outcome, result.error_code) == (SubmitOutcome.REJECTED, "INVALID_SENDER")


@pytest.mark.parametrize(
    ("reply", "outcome", "error_code"),
    [
        (Reply(401, '{"error": {"code": "UNAUTHORIZED"}}'), "transient", "UNAUTHORIZED"),
        (Reply(403, '{"error": {"code": "BLOCKED_CONTENT"}}'), "rejected", "BLOCKED_CONTENT"),
        (Reply(422, '{"error": {"code": "INVALID_NUMBER"}}'), "rejected", "INVALID_NUMBER"),
        (Reply(429, "Too Many Requests"), "transient", "429"),
        (Reply(500, "<html>oops</html>"), "transient", "500"),
        (Reply(502, ""), "transient", "502"),
        (Reply(200, "not json"), "rejected", "200"),  # a verdict is configured, and it is missing
    ],
)
def test_answers_are_classified(reply: Reply, outcome: str, error_code: str) -> None:
    with LoopbackServer(lambda seen: reply) as server:
        [result] = carrier(server.url).submit([submission()])
    assert (result.outcome, result.error_code) == (outcome, error_code)


def test_a_batch_goes_out_concurrently_bounded_and_in_order() -> None:
    with FakeAggregator(delay=0.05) as aggregator:
        results = carrier(aggregator.url, concurrency=4).submit([submission(index) for index in range(20)])
    assert [result.reference.rsplit(".", 1)[1] for result in results] == [str(index) for index in range(20)]
    assert all(result.outcome is SubmitOutcome.ACCEPTED for result in results)
    assert len({result.carrier_ref for result in results}) == 20
    assert 1 < aggregator.most_in_flight <= 4


def test_what_the_time_budget_leaves_is_not_sent_and_retried_later() -> None:
    with FakeAggregator(delay=0.3) as aggregator:
        results = carrier(aggregator.url, concurrency=1, budget_seconds=0.4).submit(
            [submission(index) for index in range(5)]
        )
    outcomes = [result.outcome for result in results]
    assert outcomes[0] is SubmitOutcome.ACCEPTED
    assert outcomes[-1] is SubmitOutcome.TRANSIENT
    assert len(aggregator.server.seen) < 5


def test_a_timeout_is_uncertain() -> None:
    # The request went: the aggregator may have taken it, so only it may be asked again (DESIGN §8)
    with FakeAggregator(delay=1.0) as aggregator:
        [result] = carrier(aggregator.url, timeout_seconds=0.2).submit([submission()])
    assert result.outcome is SubmitOutcome.UNCERTAIN
