"""Signatures checked by the Standard Webhooks library itself, not by our own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from lisoloo.webhooks.signing import new_webhook_secret, webhook_headers


def test_a_signed_event_verifies_with_the_standard_webhooks_library() -> None:
    secret = new_webhook_secret()
    body = json.dumps({"type": "sms.sent", "data": {"message_id": "abc"}})
    now = int(datetime.now(UTC).timestamp())
    headers = webhook_headers([secret], "evt_abc_sent", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)


def test_during_rotation_either_secret_verifies() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    body = '{"type":"sms.delivered"}'
    headers = webhook_headers([new, old], "evt_x_delivered", int(datetime.now(UTC).timestamp()), body)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)


def test_a_tampered_body_or_another_secret_fails() -> None:
    secret = new_webhook_secret()
    headers = webhook_headers([secret], "evt_y_sent", int(datetime.now(UTC).timestamp()), '{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify('{"a":1}', headers)


def test_secrets_look_like_standard_webhooks_secrets() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert secret != new_webhook_secret()
