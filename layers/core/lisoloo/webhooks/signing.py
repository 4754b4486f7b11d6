"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

Secrets are ``whsec_`` + base64 of 24 random bytes, one per organization; while a rotated-out
secret is still valid, both signatures go in the header (the spec allows several).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature_header(secrets_in_use: Sequence[str], event_id: str, timestamp: int, body: str) -> str:
    signed = f"{event_id}.{timestamp}.{body}".encode()
    signatures = []
    for secret in secrets_in_use:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def webhook_headers(secrets_in_use: Sequence[str], event_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_in_use, event_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": "Lisoloo-Webhooks/1",
    }
