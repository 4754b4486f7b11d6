"""app-key → organization, for the API Gateway authorizer."""

from __future__ import annotations

import hmac

from lisoloo.credentials import hash_secret
from lisoloo.models import Caller
from lisoloo.storage import SmsRepository


def authorize_app_key(repository: SmsRepository, app_key: str | None) -> Caller | None:
    """The caller an app-key belongs to, or None. Keys are looked up by their SHA-256 only."""
    if not app_key:
        return None
    key_hash = hash_secret(app_key)
    record = repository.find_app_key(key_hash)
    if record is None or not hmac.compare_digest(record.key_hash, key_hash):
        return None
    organization = repository.get_organization(record.org_id)
    if organization is None:
        return None
    return Caller(
        org_id=organization.org_id,
        default_country=organization.default_country,
        sender_ids=organization.sender_ids,
    )
