"""Carrier references: lookup items from a carrier's own message id to our recipient, and the
receipts parked while such a lookup did not exist yet (DESIGN §2, "Carrier receipts")."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime
from typing import Any

from lisoloo.entities import DueItem, DueKind, RecipientKey
from lisoloo.receipt_entities import ParkedReceipt
from lisoloo.status import SmsStatus
from lisoloo.storage import keys
from lisoloo.storage.due import due_values
from lisoloo.storage.table import ConditionFailed, Table, epoch_seconds, from_item, parse_timestamp, timestamp


def carrier_ref_item(carrier: str, carrier_ref: str, key: RecipientKey, expires_at: datetime) -> dict[str, Any]:
    return {
        "PK": keys.carrier_ref_pk(carrier, carrier_ref),
        "SK": keys.CARRIER_REF_SK,
        "org_id": key.org_id,
        "message_id": key.message_id,
        "index": key.index,
        "expires_at": epoch_seconds(expires_at),
    }


def parked_item(parked: ParkedReceipt, retry_at: datetime, expires_at: datetime) -> dict[str, Any]:
    pk = keys.carrier_ref_pk(parked.carrier, parked.carrier_ref)
    return {
        "PK": pk,
        "SK": keys.parked_sk(parked.fingerprint),
        "carrier": parked.carrier,
        "carrier_ref": parked.carrier_ref,
        "status": parked.status.value,
        "error_code": parked.error_code,
        "done_at": timestamp(parked.done_at) if parked.done_at else None,
        "part": parked.part,
        "parked_at": timestamp(parked.parked_at),
        "give_up_at": timestamp(parked.give_up_at),
        "expires_at": epoch_seconds(expires_at),
        **due_values(pk, retry_at, DueKind.PARKED),
    }


def parked_from_values(values: dict[str, Any]) -> ParkedReceipt:
    return ParkedReceipt(
        carrier=values["carrier"],
        carrier_ref=values["carrier_ref"],
        status=SmsStatus(values["status"]),
        parked_at=parse_timestamp(values["parked_at"]),
        give_up_at=parse_timestamp(values["give_up_at"]),
        error_code=values.get("error_code"),
        done_at=parse_timestamp(values["done_at"]) if values.get("done_at") else None,
        part=values.get("part"),
    )


class CarrierRefs:
    def __init__(self, table: Table) -> None:
        self.table = table

    def link(self, carrier: str, carrier_ref: str, key: RecipientKey, expires_at: datetime) -> None:
        """The lookup item from a carrier's own message id to the recipient, for carriers
        whose receipts cannot carry our reference. TTL removes it after the receipt window."""
        with suppress(ConditionFailed):
            self.table.put(
                carrier_ref_item(carrier, carrier_ref, key, expires_at),
                # A carrier id points at one recipient for good: a retried dispatch may write
                # it again, but a reused id never re-points an earlier one.
                "attribute_not_exists(PK) OR (org_id = :org AND message_id = :msg)",
                values={":org": key.org_id, ":msg": key.message_id},
            )

    def find(self, carrier: str, carrier_ref: str) -> RecipientKey | None:
        # Strongly consistent: the lookup may have been written a moment ago (the race
        # parking exists for), and a stale miss would park a receipt for nothing.
        item = self.table.get(keys.carrier_ref_pk(carrier, carrier_ref), keys.CARRIER_REF_SK, consistent=True)
        if not item:
            return None
        values = from_item(item)
        return RecipientKey(values["org_id"], values["message_id"], values["index"])

    def find_many(self, carrier: str, carrier_refs: Iterable[str]) -> dict[str, RecipientKey]:
        """``find`` for many ids at once (one BatchGetItem per 100): the ids known, with their
        recipients."""
        wanted = {keys.carrier_ref_pk(carrier, carrier_ref): carrier_ref for carrier_ref in carrier_refs}
        found: dict[str, RecipientKey] = {}
        items = self.table.batch_get(
            ((pk, keys.CARRIER_REF_SK) for pk in wanted),
            attributes=("org_id", "message_id", "index"),
            consistent=True,  # as ``find``: a stale miss would park a receipt for nothing
        )
        for item in items:
            values = from_item(item)
            found[wanted[values["PK"]]] = RecipientKey(values["org_id"], values["message_id"], values["index"])
        return found

    def park(self, parked: ParkedReceipt, retry_at: datetime, expires_at: datetime) -> bool:
        """Keep a receipt for a carrier id not known yet, due for another try at ``retry_at``.
        False when the same receipt is already parked."""
        try:
            # A re-sent receipt keeps the first one's deadline.
            self.table.put(parked_item(parked, retry_at, expires_at), "attribute_not_exists(PK)")
        except ConditionFailed:
            return False
        return True

    def get_parked(self, item: DueItem) -> ParkedReceipt | None:
        if not item.sk.startswith(keys.PARKED_SK_PREFIX):
            return None
        found = self.table.get(item.pk, item.sk)
        return parked_from_values(from_item(found)) if found else None

    def drop_parked(self, item: DueItem) -> None:
        """A parked receipt that has been applied: gone, if the lease is still ours."""
        with suppress(ConditionFailed):
            self.table.delete(item.pk, item.sk, "due_at = :lease", values={":lease": item.due_at})
