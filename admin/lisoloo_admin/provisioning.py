"""Creating organizations, their app-keys and carrier credentials (local stack, admin tooling)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from lisoloo.credentials import hash_secret, new_app_key, new_carrier_token
from lisoloo.identifiers import new_organization_id
from lisoloo.organization_entities import CarrierRecord, NewAppKey, OrganizationRecord
from lisoloo.storage import SmsRepository


def create_organization(repository: SmsRepository, *, name: str, default_country: str = "KE") -> str:
    """Returns the new organization's id. ``default_country`` reads national-format numbers."""
    org_id = new_organization_id()
    repository.organizations.create(
        OrganizationRecord(org_id=org_id, name=name, default_country=default_country.upper()),
        datetime.now(UTC),
    )
    return org_id


@dataclass(frozen=True)
class IssuedAppKey:
    key_id: str
    # The plain key: shown once, never stored.
    app_key: str
    hint: str


def key_hint(app_key: str) -> str:
    """Enough to recognise a key in a list (``lsk_…Xy3Q``), far too little to use it."""
    return f"{app_key[:4]}…{app_key[-4:]}"


def issue_key(repository: SmsRepository, org_id: str, *, label: str | None = None) -> IssuedAppKey:
    """A new key for an existing organization (``OrganizationNotFoundError`` otherwise). Only its SHA-256 is
    stored, so the returned plain key is the one time anyone sees it."""
    app_key = new_app_key()
    issued = IssuedAppKey(key_id=f"key_{secrets.token_hex(6)}", app_key=app_key, hint=key_hint(app_key))
    repository.organizations.add_app_key(
        NewAppKey(key_id=issued.key_id, key_hash=hash_secret(app_key), org_id=org_id, hint=issued.hint, label=label),
        datetime.now(UTC),
    )
    return issued


def issue_app_key(repository: SmsRepository, org_id: str) -> str:
    """Returns the plain key; only its SHA-256 is stored, so this is the one time anyone sees it."""
    return issue_key(repository, org_id).app_key


def register_carrier(repository: SmsRepository, carrier: str) -> str:
    """Sets (or replaces) a carrier's receipt token and returns it in plain text once."""
    token = new_carrier_token()
    repository.carriers.store(CarrierRecord(name=carrier, token_hash=hash_secret(token)), datetime.now(UTC))
    return token
