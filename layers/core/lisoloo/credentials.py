"""Secrets merchants and carriers present: generated once, stored only as SHA-256,
compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

APP_KEY_PREFIX = "lsk_"
CARRIER_TOKEN_PREFIX = "lct_"  # noqa: S105 - a prefix, not a secret


def new_app_key() -> str:
    return APP_KEY_PREFIX + secrets.token_urlsafe(32)


def new_carrier_token() -> str:
    return CARRIER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """A fast hash is enough: the secrets are 256-bit random, not passwords to brute-force."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
