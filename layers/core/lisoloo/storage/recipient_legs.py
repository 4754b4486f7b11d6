"""Deliver-by's second leg of a recipient (DESIGN §8): the fallback carrier it is submitted to
once more, and each leg's outcome noted on its row until one decides."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from lisoloo.entities import RecipientKey
from lisoloo.status import SmsStatus, Tier
from lisoloo.storage import keys
from lisoloo.storage.due import DUE_ATTRIBUTES
from lisoloo.storage.table import ConditionFailed, Table, from_item, timestamp


class FallbackLegs:
    """The deliver-by writes of :class:`~lisoloo.storage.recipients.Recipients`."""

    table: Table

    def legs_row(self, key: RecipientKey) -> dict[str, Any] | None:
        """The row as deliver-by's rules read it (strongly consistent: a leg's note or the
        fallback's claim may have been written a moment ago)."""
        item = self.table.get(
            keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index), consistent=True
        )
        return from_item(item) if item else None

    def claim_fallback(self, key: RecipientKey, carrier: str, lease: str, now: datetime) -> bool:
        """Before the fallback's submit: the carrier it goes to (so that carrier's receipts,
        even one outrunning the submit's answer, find the recipient), and out of the due index
        in the same write. At most once: a redelivered sweep item, or a crash after this
        write, never submits a second fallback."""
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET fallback_carrier = :carrier, fallback_at = :now REMOVE {DUE_ATTRIBUTES}",
                # Our lease on the deliver-by item, the recipient not final, no fallback yet.
                "due_at = :lease AND #tier < :terminal AND attribute_not_exists(fallback_carrier)",
                names={"#tier": "tier"},
                values={
                    ":carrier": carrier,
                    ":now": timestamp(now),
                    ":lease": lease,
                    ":terminal": int(Tier.TERMINAL),
                },
            )
        except ConditionFailed:
            return False
        return True

    def record_fallback(self, key: RecipientKey, carrier: str, carrier_ref: str) -> None:
        """The fallback carrier took it: its reference, beside the first carrier's."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "SET fallback_ref = :ref",
                # Only the fallback claimed for this carrier (a refusal may have undone it).
                "fallback_carrier = :carrier",
                values={":ref": carrier_ref, ":carrier": carrier},
            )

    def drop_fallback(self, key: RecipientKey, carrier: str) -> dict[str, Any] | None:
        """The fallback carrier provably did not take it: that leg never went (the first
        decides alone). The row as written, for the rules to settle; None if it changed."""
        try:
            attributes = self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "REMOVE fallback_carrier, fallback_failure SET fallback_refused = :carrier",
                "fallback_carrier = :carrier AND attribute_not_exists(fallback_ref)",
                values={":carrier": carrier},
                returning="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return from_item(attributes)

    def note_leg_failure(
        self, key: RecipientKey, carrier: str, leg_field: str, status: SmsStatus
    ) -> dict[str, Any] | None:
        """A leg's failure that does not end the recipient: noted on the row, no tier, no
        counter, no event. The row as written (for ``deliver_by.settle``); None when the row is
        final or the carrier is no longer that leg's."""
        carrier_field = "carrier" if leg_field == "first_failure" else "fallback_carrier"
        try:
            attributes = self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET {leg_field} = if_not_exists({leg_field}, :status)",
                # Not final, and still this carrier's leg: a late receipt changes nothing.
                f"#tier < :terminal AND {carrier_field} = :carrier",
                names={"#tier": "tier"},
                values={":status": status.value, ":terminal": int(Tier.TERMINAL), ":carrier": carrier},
                returning="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return from_item(attributes)
