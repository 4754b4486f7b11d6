"""webhooks.verify: the API's own signatures pass; forged, tampered, stale or malformed ones do not."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from lisoloo.webhooks.signing import new_webhook_secret, webhook_headers
from lisoloo_client import WebhookVerificationError, webhooks

BODY = json.dumps(
    {
        "type": "sms.delivered",
        "timestamp": "2026-12-07T10:15:08Z",
        "data": {"message_id": "6b04", "status": "delivered"},
    }
)


def signed(secrets: list[str], *, at: float | None = None, body: str = BODY) -> dict[str, str]:
    """Headers as the API's webhook delivery signs them (layers/core/lisoloo/webhooks/signing.py)."""
    return webhook_headers(secrets, "evt_6b04_delivered", int(at if at is not None else time.time()), body)


def test_a_delivery_signed_by_the_api_verifies_into_an_event() -> None:
    secret = new_webhook_secret()
    event = webhooks.verify(BODY.encode(), signed([secret]), secret)
    assert (event.type, event.data["status"]) == ("sms.delivered", "delivered")


def test_any_header_mapping_and_both_signatures_of_a_rotation_verify() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    headers = httpx.Headers(signed([new, old]))  # case-insensitive, as web frameworks hand them over
    assert webhooks.verify(BODY, headers, old).type == "sms.delivered"
    assert webhooks.verify(BODY, headers, new).type == "sms.delivered"


Tamper = Callable[[dict[str, str]], dict[str, str]]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda headers: {**headers, "webhook-id": "evt_other"}, "No matching signature"),
        (lambda headers: {k: v for k, v in headers.items() if k != "webhook-signature"}, "Missing required headers"),
        (lambda headers: {**headers, "webhook-signature": "v1"}, "Webhook not verified"),
        (lambda headers: {**headers, "webhook-signature": "v1,@@not-base64@@"}, "Webhook not verified"),
        (lambda headers: {**headers, "webhook-timestamp": "yesterday"}, "Invalid Signature Headers"),
    ],
)
def test_a_forged_or_malformed_delivery_is_refused(tamper: Tamper, reason: str) -> None:
    secret = new_webhook_secret()
    with pytest.raises(WebhookVerificationError, match=reason):
        webhooks.verify(BODY, tamper(signed([secret])), secret)


def test_another_secret_or_a_changed_body_is_refused() -> None:
    secret = new_webhook_secret()
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, signed([secret]), new_webhook_secret())
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY.replace("delivered", "failed"), signed([secret]), secret)


def test_an_old_delivery_replayed_is_refused() -> None:
    secret = new_webhook_secret()
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, signed([secret], at=time.time() - 600), secret)
    with pytest.raises(WebhookVerificationError, match="too new"):
        webhooks.verify(BODY, signed([secret], at=time.time() + 600), secret)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    secret = new_webhook_secret()
    with pytest.raises(WebhookVerificationError, match="not a Lisoloo event"):
        webhooks.verify("[1, 2]", signed([secret], body="[1, 2]"), secret)
