"""Checking that a webhook came from Lisoloo, on the Standard Webhooks library.

The API signs each delivery per the Standard Webhooks spec (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``, several signatures
while a rotated secret is still valid); the library checks the signature in constant time and
refuses a timestamp more than five minutes from now, which stops replays of old deliveries.
A retry or redelivery keeps its ``webhook-id``: use it to act on each event once.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping

import pydantic
import standardwebhooks

from lisoloo_client.errors import WebhookVerificationError
from lisoloo_client.models import WebhookEvent


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> WebhookEvent:
    """The event in ``body`` if ``headers`` sign it with ``secret`` (``whsec_…``, as ``make run`` or
    ``GET /webhook`` shows it); raise ``WebhookVerificationError`` if not. Pass the body exactly as
    received: re-serialized JSON no longer matches its signature."""
    try:
        # ``dict`` so any header mapping (httpx, Starlette, Flask…) works: the library lowercases names.
        payload = standardwebhooks.Webhook(secret).verify(body, dict(headers.items()))
    except (standardwebhooks.WebhookVerificationError, ValueError, binascii.Error) as error:
        # ValueError: a malformed signature list, which standardwebhooks 1.1 lets through uncaught.
        raise WebhookVerificationError(f"Webhook not verified: {error}") from None
    try:
        return WebhookEvent.model_validate(payload)
    except pydantic.ValidationError:
        raise WebhookVerificationError("Webhook verified, but its body is not a Lisoloo event") from None
