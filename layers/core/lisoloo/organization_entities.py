"""The vocabulary of who may use the gateway: organizations, their app-keys, and carriers'
receipt tokens (plain frozen values, no I/O; kept apart from ``entities``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def key_is_active(revoked_at: datetime | None, now: datetime) -> bool:
    """An app-key works until its revocation time (a rotation can leave it a grace period)."""
    return revoked_at is None or revoked_at > now


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_hash: str
    org_id: str


@dataclass(frozen=True, slots=True)
class NewAppKey:
    """An app-key to store: its SHA-256 (the only form of the key we keep), an id to name it by
    and a hint (its first and last characters) to recognise it."""

    key_id: str
    key_hash: str
    org_id: str
    hint: str
    label: str | None = None


@dataclass(frozen=True, slots=True)
class AppKeyInfo:
    """An app-key as an operator lists it: never the key, never its hash."""

    key_id: str
    org_id: str
    hint: str
    created_at: datetime
    label: str | None = None
    # When it stops (or stopped) working; a rotation can leave the old key a grace period.
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return key_is_active(self.revoked_at, now)


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    org_id: str
    name: str
    default_country: str
    webhook_url: str | None = None
    # Kept readable (encrypted at rest by the table): a signing key cannot be stored hashed.
    webhook_secret: str | None = None
    previous_webhook_secret: str | None = None
    previous_secret_valid_until: datetime | None = None
    # Sender ids the organization may send as (the first is its default); empty: any.
    sender_ids: tuple[str, ...] = ()
    # Its own usage-plan throttle (requests per second, burst); None: the template's default plan.
    rate_limit: int | None = None
    burst_limit: int | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the rotated-out one while it is still honoured."""
        secrets = [self.webhook_secret] if self.webhook_secret else []
        until = self.previous_secret_valid_until
        if self.previous_webhook_secret and until is not None and until > now:
            secrets.append(self.previous_webhook_secret)
        return secrets


@dataclass(frozen=True, slots=True)
class CarrierRecord:
    name: str
    token_hash: str
