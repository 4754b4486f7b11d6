"""app-key → organization, for the API Gateway authorizer."""

from __future__ import annotations

import hmac
from datetime import datetime

from lisoloo.credentials import hash_secret
from lisoloo.models import Caller
from lisoloo.storage import SmsRepository


def authorize_app_key(repository: SmsRepository, app_key: str | None, now: datetime) -> Caller | None:
    """The caller an app-key belongs to, or None: unknown, revoked (its revocation time has
    come), or of an organization that is gone. Keys are looked up by their SHA-256 only."""
    if not app_key:
        return None
    key_hash = hash_secret(app_key)
    record = repository.organizations.find_app_key(key_hash, now)
    if record is None or not hmac.compare_digest(record.key_hash, key_hash):
        return None
    organization = repository.organizations.get(record.org_id)
    if organization is None:
        return None
    return Caller(
        org_id=organization.org_id,
        default_country=organization.default_country,
        sender_ids=organization.sender_ids,
    )
