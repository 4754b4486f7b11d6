"""Organizations, their settings and their app-keys (stored as SHA-256 only).

An app-key is two items: the lookup the authorizer reads by hash (``KEY#{sha256}``) and a
listing under the organization (``APPKEY#{key_id}``), written and revoked together.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from lisoloo.errors import OrganizationNotFoundError
from lisoloo.keywords import OrganizationWords
from lisoloo.organization_entities import ApiKeyRecord, AppKeyInfo, NewAppKey, OrganizationRecord, key_is_active
from lisoloo.storage import keys
from lisoloo.storage.table import (
    ConditionFailed,
    Table,
    TransactionCancelled,
    from_item,
    parse_timestamp,
    timestamp,
)
from lisoloo.two_way import ConsentSettings


def organization_item(organization: OrganizationRecord, now: datetime) -> dict[str, Any]:
    return {
        "PK": keys.org_pk(organization.org_id),
        "SK": keys.META,
        "org_id": organization.org_id,
        "name": organization.name,
        "default_country": organization.default_country,
        "created_at": timestamp(now),
    }


def organization_from_values(values: dict[str, Any]) -> OrganizationRecord:
    until = values.get("previous_secret_valid_until")
    return OrganizationRecord(
        org_id=values["org_id"],
        name=values["name"],
        default_country=values["default_country"],
        webhook_url=values.get("webhook_url"),
        webhook_secret=values.get("webhook_secret"),
        previous_webhook_secret=values.get("previous_webhook_secret"),
        previous_secret_valid_until=parse_timestamp(until) if until else None,
        sender_ids=tuple(values.get("sender_ids", ())),
        rate_limit=values.get("rate_limit"),
        burst_limit=values.get("burst_limit"),
    )


def app_key_lookup_item(key: NewAppKey, now: datetime) -> dict[str, Any]:
    return {
        "PK": keys.app_key_pk(key.key_hash),
        "SK": keys.META,
        "org_id": key.org_id,
        "key_id": key.key_id,
        "created_at": timestamp(now),
    }


def app_key_listing_item(key: NewAppKey, now: datetime) -> dict[str, Any]:
    return {
        "PK": keys.org_pk(key.org_id),
        "SK": keys.app_key_listing_sk(key.key_id),
        "key_id": key.key_id,
        "key_hash": key.key_hash,
        "hint": key.hint,
        "label": key.label,
        "created_at": timestamp(now),
    }


def app_key_info(org_id: str, values: dict[str, Any]) -> AppKeyInfo:
    revoked_at = values.get("revoked_at")
    return AppKeyInfo(
        key_id=values["key_id"],
        org_id=org_id,
        hint=values["hint"],
        created_at=parse_timestamp(values["created_at"]),
        label=values.get("label"),
        revoked_at=parse_timestamp(revoked_at) if revoked_at else None,
    )


class Organizations:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, organization: OrganizationRecord, now: datetime) -> None:
        # Never overwrite an existing organization's settings.
        self.table.put(organization_item(organization, now), "attribute_not_exists(PK)")

    def get(self, org_id: str) -> OrganizationRecord | None:
        item = self.table.get(keys.org_pk(org_id), keys.META)
        return organization_from_values(from_item(item)) if item else None

    # --- webhook settings -----------------------------------------------------------------------

    def set_webhook_url(self, org_id: str, url: str | None, secret_if_none: str, now: datetime) -> str:
        """Sets (or, with None, removes) the organization's webhook URL; gives it a signing
        secret if it has none. Returns the secret in force."""
        if url is None:
            update, values = "REMOVE webhook_url SET updated_at = :now", {":now": timestamp(now)}
        else:
            update = (
                "SET webhook_url = :url, webhook_secret = if_not_exists(webhook_secret, :secret), updated_at = :now"
            )
            values = {":url": url, ":secret": secret_if_none, ":now": timestamp(now)}
        attributes = self.table.update(
            keys.org_pk(org_id), keys.META, update, "attribute_exists(PK)", returning="ALL_NEW", values=values
        )
        secret: str = from_item(attributes).get("webhook_secret", "")
        return secret

    def rotate_webhook_secret(self, org_id: str, new_secret: str, old_valid_until: datetime, now: datetime) -> None:
        self.table.update(
            keys.org_pk(org_id),
            keys.META,
            "SET previous_webhook_secret = webhook_secret, previous_secret_valid_until = :until,"
            " webhook_secret = :secret, updated_at = :now",
            # Only an organization that has a secret rotates; otherwise there is nothing to keep.
            "attribute_exists(webhook_secret)",
            values={":until": timestamp(old_valid_until), ":secret": new_secret, ":now": timestamp(now)},
        )

    # --- other settings (lisoloo-admin) -----------------------------------------------------------

    def set_default_country(self, org_id: str, country: str, now: datetime) -> None:
        self._update(org_id, now, set_values={"default_country": country})

    def set_sender_ids(self, org_id: str, sender_ids: Sequence[str], now: datetime) -> None:
        if sender_ids:
            self._update(org_id, now, set_values={"sender_ids": list(sender_ids)})
        else:
            self._update(org_id, now, remove=("sender_ids",))

    def set_rate_limit(self, org_id: str, rate_limit: int | None, burst_limit: int | None, now: datetime) -> None:
        """The organization's own throttle, or (None) back to the default plan's."""
        if rate_limit is None or burst_limit is None:
            self._update(org_id, now, remove=("rate_limit", "burst_limit"))
        else:
            self._update(org_id, now, set_values={"rate_limit": rate_limit, "burst_limit": burst_limit})

    # --- two-way (DESIGN §9): the organization's own keywords and its automatic replies -------

    def consent(self, org_id: str) -> tuple[str, ConsentSettings] | None:
        """(default country, consent settings) of an organization, from one read of its item."""
        item = self.table.get(keys.org_pk(org_id), keys.META)
        if item is None:
            return None
        values = from_item(item)
        words = OrganizationWords(
            stop=tuple(values.get("stop_words", ())),
            start=tuple(values.get("start_words", ())),
            help=tuple(values.get("help_words", ())),
        )
        settings = ConsentSettings(
            words=words,
            stop_reply=values.get("stop_reply"),
            start_reply=values.get("start_reply"),
            help_reply=values.get("help_reply"),
        )
        return values["default_country"], settings

    def set_consent(self, org_id: str, settings: ConsentSettings, now: datetime) -> None:
        """Replaces the organization's words and replies (an empty one is removed)."""
        wanted: dict[str, Any] = {
            "stop_words": list(settings.words.stop),
            "start_words": list(settings.words.start),
            "help_words": list(settings.words.help),
            "stop_reply": settings.stop_reply,
            "start_reply": settings.start_reply,
            "help_reply": settings.help_reply,
        }
        self._update(
            org_id,
            now,
            set_values={name: value for name, value in wanted.items() if value},
            remove=tuple(name for name, value in wanted.items() if not value),
        )

    def _update(
        self,
        org_id: str,
        now: datetime,
        *,
        set_values: dict[str, Any] | None = None,
        remove: Sequence[str] = (),
    ) -> None:
        values = {**(set_values or {}), "updated_at": timestamp(now)}
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
        if remove:
            update += " REMOVE " + ", ".join(f"#{name}" for name in remove)
        try:
            self.table.update(
                keys.org_pk(org_id),
                keys.META,
                update,
                # Settings of an organization that exists; never creates a half organization.
                "attribute_exists(PK)",
                names={f"#{name}": name for name in [*values, *remove]},
                values={f":{name}": value for name, value in values.items()},
            )
        except ConditionFailed:
            raise OrganizationNotFoundError(f"no organization {org_id}") from None

    # --- app-keys -------------------------------------------------------------------------------

    def add_app_key(self, key: NewAppKey, now: datetime) -> None:
        """The lookup item the authorizer reads (by hash) and the listing item under the
        organization, in one transaction. Ids and keys are random, so a cancelled transaction
        means the organization does not exist."""
        try:
            self.table.transact(
                [
                    # A hash collision must never re-point an existing key to another organization.
                    self.table.put_item(app_key_lookup_item(key, now), "attribute_not_exists(PK)"),
                    self.table.put_item(app_key_listing_item(key, now), "attribute_not_exists(PK)"),
                    # Keys only for organizations that exist.
                    self.table.condition_check(keys.org_pk(key.org_id), keys.META, "attribute_exists(PK)"),
                ]
            )
        except TransactionCancelled:
            raise OrganizationNotFoundError(f"no organization {key.org_id}") from None

    def find_app_key(self, key_hash: str, now: datetime) -> ApiKeyRecord | None:
        """The key's organization, unless the key is unknown or no longer active at ``now``."""
        item = self.table.get(keys.app_key_pk(key_hash), keys.META)
        if item is None:
            return None
        values = from_item(item)
        revoked_at = values.get("revoked_at")
        if not key_is_active(parse_timestamp(revoked_at) if revoked_at else None, now):
            return None
        return ApiKeyRecord(key_hash=key_hash, org_id=values["org_id"])

    def list_app_keys(self, org_id: str) -> list[AppKeyInfo]:
        """Every key the organization was issued, oldest id first: hints and dates only."""
        low, high = keys.app_key_listing_sk(""), keys.app_key_listing_sk("~")
        return [
            app_key_info(org_id, from_item(item)) for item in self.table.query_between(keys.org_pk(org_id), low, high)
        ]

    def revoke_app_key(self, org_id: str, key_id: str, at: datetime) -> AppKeyInfo | None:
        """The key stops working at ``at`` (now, or later for a rotation's grace period); a key
        already revoked earlier keeps its earlier time. None if the organization has no such key."""
        listing_sk = keys.app_key_listing_sk(key_id)
        listing = self.table.get(keys.org_pk(org_id), listing_sk)
        if listing is None:
            return None
        # Only ever brings a revocation forward: a second revoke cannot revive a key for a while.
        condition = "attribute_exists(PK) AND (attribute_not_exists(revoked_at) OR revoked_at > :at)"
        when = {":at": timestamp(at)}
        # A conflict is retried: swallowed, it would leave the key working while reported revoked.
        with suppress(TransactionCancelled):  # revoked earlier already
            self.table.transact(
                [
                    self.table.update_item(
                        keys.org_pk(org_id), listing_sk, "SET revoked_at = :at", condition, values=when
                    ),
                    self.table.update_item(
                        keys.app_key_pk(listing["key_hash"]["S"]),
                        keys.META,
                        "SET revoked_at = :at",
                        condition,
                        values=when,
                    ),
                ]
            )
        current = self.table.get(keys.org_pk(org_id), listing_sk)
        return app_key_info(org_id, from_item(current)) if current else None
