"""State never crosses tenants, nor reaches anyone unauthenticated, on moto.

* Another organization's message or schedule is the same 404 as an unknown or malformed id:
  the same bytes, and the same DynamoDB requests (so no timing that depends on whether the
  other tenant's item exists: the lookup key always carries the caller's organization).
* One organization's webhook settings calls never read or change another's.
* Receipts need the carrier's own token: missing, wrong, another carrier's or a merchant's
  app-key are all 401; an unknown carrier is 404.
* Revoked keys stop at their revocation time; a rotated key works through its grace period.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lisoloo import dependencies
from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, Merchant, load_function

STATUS_PATH = "/api/v1/lisoloo/sms-api/status/"
SCHEDULES_PATH = "/api/v1/lisoloo/sms-api/schedules/"


class RequestLog:
    """The DynamoDB operations the functions' client makes, in order."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self.recording = False
        client.meta.events.register("before-call.dynamodb.*", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        if self.recording:
            self.operations.append(model.name)

    def during(self, action: Any) -> tuple[Any, list[str]]:
        self.operations, self.recording = [], True
        try:
            return action(), list(self.operations)
        finally:
            self.recording = False


_LOGS: dict[int, RequestLog] = {}


@pytest.fixture
def requests_made(harness: Harness) -> Iterator[RequestLog]:
    client = dependencies.repository().client
    _LOGS.setdefault(id(client), RequestLog(client))
    yield _LOGS[id(client)]


def status_raw(harness: Harness, merchant: Merchant, message_id: str, query: dict[str, str] | None = None) -> Any:
    code, _, raw = harness.api(
        "status",
        "status-get",
        merchant,
        path=STATUS_PATH + message_id,
        path_parameters={"message_id": message_id},
        query=query,
    )
    return code, raw


def cancel_raw(harness: Harness, merchant: Merchant, schedule_id: str) -> Any:
    code, _, raw = harness.api(
        "schedules",
        "schedules-delete",
        merchant,
        path=SCHEDULES_PATH + schedule_id,
        path_parameters={"schedule_id": schedule_id},
    )
    return code, raw


@pytest.mark.parametrize("query", [None, {"recipients_limit": "1"}, {"recipients_cursor": "1"}])
def test_another_tenants_message_is_the_same_404_with_the_same_requests(
    harness: Harness, requests_made: RequestLog, query: dict[str, str] | None
) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    _, body = harness.send(owner, {"to": ["+254712345678", "+254712345679"], "message": "mine"})
    message_id = body["data"]["message_id"]
    theirs = requests_made.during(lambda: status_raw(harness, stranger, message_id, query))
    unknown = requests_made.during(lambda: status_raw(harness, stranger, "0" * 24, query))
    malformed, _ = requests_made.during(lambda: status_raw(harness, stranger, message_id.upper(), query))
    assert theirs[0] == unknown[0] == malformed == (404, '{"detail":"Message not found"}')
    assert theirs[1] == unknown[1]  # the same DynamoDB work, whether or not the message exists
    # And the owner still sees it
    assert status_raw(harness, owner, message_id)[0] == 200


def test_another_tenants_schedule_is_the_same_404_and_stays_untouched(
    harness: Harness, requests_made: RequestLog
) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    _, body = harness.send(owner, {"to": ["+254712345678"], "message": "x", "scheduled_dates": [later]})
    schedule_id, message_id = body["data"]["schedule_id"], body["data"]["message_id"]
    theirs = requests_made.during(lambda: cancel_raw(harness, stranger, schedule_id))
    unknown = requests_made.during(lambda: cancel_raw(harness, stranger, "sch_0000000000000000"))
    malformed, _ = requests_made.during(lambda: cancel_raw(harness, stranger, schedule_id + "0"))
    assert theirs[0] == unknown[0] == malformed == (404, '{"detail":"Schedule not found"}')
    assert theirs[1] == unknown[1]
    # The owner's occurrence is still there, still scheduled
    assert status_raw(harness, owner, message_id)[0] == 200
    assert harness.status(owner, message_id)[1]["data"]["status"] == "scheduled"


def test_webhook_settings_of_one_tenant_never_touch_another(harness: Harness) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    code, _, _ = harness.api("webhook_settings", "webhook-put", owner, body={"webhook_url": "https://127.0.0.1/a"})
    assert code == 200
    before = harness.repository().organizations.get(owner.org_id)
    # When the stranger reads, sets and rotates its own settings
    shown = harness.api("webhook_settings", "webhook-get", stranger)[1]["data"]
    assert shown == {"webhook_url": None, "secret_configured": False, "secret": None}
    harness.api("webhook_settings", "webhook-put", stranger, body={"webhook_url": "https://127.0.0.1/b"})
    harness.api("webhook_settings", "webhook-rotate", stranger)
    harness.api("webhook_settings", "webhook-put", stranger, body={"webhook_url": None})
    # Then the owner's URL and secrets are exactly as they were
    after = harness.repository().organizations.get(owner.org_id)
    assert before is not None and after is not None
    assert (after.webhook_url, after.webhook_secret, after.previous_webhook_secret) == (
        before.webhook_url,
        before.webhook_secret,
        before.previous_webhook_secret,
    )
    assert harness.api("webhook_settings", "webhook-get", owner)[1]["data"]["webhook_url"] == "https://127.0.0.1/a"


# --- receipts: the carrier's own token only ----------------------------------------------------


def receipt_with(harness: Harness, carrier: str, *, header: str | None = None, query: str | None = None) -> Any:
    """POSTs a sandbox receipt to ``/receipts/{carrier}`` with exactly the credentials given."""
    import json

    event = load_event("receipts-sandbox")
    headers = {name: value for name, value in event["headers"].items() if name.lower() != "x-carrier-token"}
    if header is not None:
        headers["x-carrier-token"] = header
    event["headers"] = headers
    event["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    event["path"] = f"/api/v1/lisoloo/sms-api/receipts/{carrier}"
    event["pathParameters"] = {"carrier": carrier}
    event["queryStringParameters"] = {"token": query} if query is not None else None
    event["multiValueQueryStringParameters"] = {"token": [query]} if query is not None else None
    event["body"] = json.dumps({"carrier_ref": "not-ours", "status": "delivered"})
    response = load_function("receipts").lambda_handler(event, lambda_context())
    return response["statusCode"], json.loads(response["body"]) if response["body"].startswith("{") else None


def test_receipts_need_that_carriers_own_token(harness: Harness) -> None:
    from lisoloo_admin.provisioning import register_carrier

    merchant = harness.new_merchant()
    other_carrier_token = register_carrier(harness.repository(), "jasmin")
    refused = (401, {"detail": "Invalid or missing carrier token"})
    for header, query in [
        (None, None),
        ("", None),
        ("lct_wrong", None),
        (harness.carrier_token[:-1], None),
        (harness.carrier_token + "x", None),
        (other_carrier_token, None),
        (merchant.app_key, None),
        (None, other_carrier_token),
        (None, "lct_wrong"),
    ]:
        assert receipt_with(harness, "sandbox", header=header, query=query) == refused, (header, query)
    # The sandbox's token does not open another carrier's endpoint either
    assert receipt_with(harness, "jasmin", header=harness.carrier_token) == refused
    # An unknown carrier is not found, whatever the token
    assert receipt_with(harness, "nowhere", header=harness.carrier_token) == (404, {"detail": "Carrier not found"})
    # And the right token, in the header or the query string, is accepted
    assert receipt_with(harness, "sandbox", header=harness.carrier_token)[0] == 200
    assert receipt_with(harness, "sandbox", query=harness.carrier_token)[0] == 200


# --- revoked and rotated app-keys ---------------------------------------------------------------


def authorize(app_key: str) -> dict[str, Any]:
    event = load_event("authorizer-request")
    event["headers"]["app-key"] = app_key
    policy: dict[str, Any] = load_function("authorizer").lambda_handler(event, lambda_context())
    return policy


def effect(policy: dict[str, Any]) -> str:
    effect_: str = policy["policyDocument"]["Statement"][0]["Effect"]
    return effect_


def test_a_revoked_key_stops_and_a_rotated_one_works_through_its_grace_period(harness: Harness) -> None:
    from lisoloo_admin.provisioning import issue_key

    repository = harness.repository()
    merchant, stranger = harness.new_merchant(), harness.new_merchant()
    revoked = issue_key(repository, merchant.org_id)
    rotating = issue_key(repository, merchant.org_id)
    assert effect(authorize(revoked.app_key)) == effect(authorize(rotating.app_key)) == "Allow"
    now = datetime.now(UTC)
    assert (
        repository.organizations.revoke_app_key(merchant.org_id, revoked.key_id, now - timedelta(seconds=1)) is not None
    )
    assert (
        repository.organizations.revoke_app_key(merchant.org_id, rotating.key_id, now + timedelta(hours=1)) is not None
    )
    assert effect(authorize(revoked.app_key)) == "Deny"
    allowed = authorize(rotating.app_key)
    assert (effect(allowed), allowed["context"]["org_id"]) == ("Allow", merchant.org_id)
    # Another organization cannot revoke (or even find) this organization's keys
    assert repository.organizations.revoke_app_key(stranger.org_id, rotating.key_id, now) is None
    assert effect(authorize(rotating.app_key)) == "Allow"
    # A second revocation never brings a key back
    repository.organizations.revoke_app_key(merchant.org_id, revoked.key_id, now + timedelta(days=1))
    assert effect(authorize(revoked.app_key)) == "Deny"
