"""Creating organizations, their app-keys and carrier credentials (local stack, admin tooling)."""

from __future__ import annotations

from datetime import UTC, datetime

from lisoloo.credentials import hash_secret, new_app_key, new_carrier_token
from lisoloo.identifiers import new_organization_id
from lisoloo.storage import CarrierRecord, OrganizationRecord, SmsRepository


def create_organization(repository: SmsRepository, *, name: str, default_country: str = "KE") -> str:
    """Returns the new organization's id. ``default_country`` reads national-format numbers."""
    org_id = new_organization_id()
    repository.create_organization(
        OrganizationRecord(org_id=org_id, name=name, default_country=default_country.upper()),
        datetime.now(UTC),
    )
    return org_id


def issue_app_key(repository: SmsRepository, org_id: str) -> str:
    """Returns the plain key; only its SHA-256 is stored, so this is the one time anyone sees it."""
    app_key = new_app_key()
    repository.store_app_key(hash_secret(app_key), org_id, datetime.now(UTC))
    return app_key


def register_carrier(repository: SmsRepository, carrier: str) -> str:
    """Sets (or replaces) a carrier's receipt token and returns it in plain text once."""
    token = new_carrier_token()
    repository.store_carrier(CarrierRecord(name=carrier, token_hash=hash_secret(token)), datetime.now(UTC))
    return token
