"""Opt-out links (DESIGN §12): the lookup from a link's token to the sender and number it opts
out, written when dispatch claims the recipient, and its use, which suppresses the number."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lisoloo.opting_out import OptOutLink
from lisoloo.storage import keys
from lisoloo.storage.table import Table, TransactionCancelled, epoch_seconds, from_item, parse_timestamp, timestamp
from lisoloo.two_way import SuppressionSource

# The stream filter passes these items' changes to the webhooks function (template.yaml).
OPT_OUT_KIND = "optout"


def link_from_values(values: Mapping[str, Any]) -> OptOutLink:
    return OptOutLink(
        token=values["PK"].removeprefix("OPTOUT#"),
        org_id=values["org_id"],
        number=values["number"],
        message_id=values["message_id"],
        sender=values.get("sender"),
        used_at=parse_timestamp(values["used_at"]) if values.get("used_at") else None,
    )


def used_link(stream_record: Mapping[str, Any]) -> OptOutLink | None:
    """A table-stream record as the link it marks used, the one change that fires
    ``sms.opted_out``; None for any other record (a link written or re-written by dispatch)."""
    images = stream_record.get("dynamodb", {})
    new = images.get("NewImage") or {}
    old = images.get("OldImage") or {}
    if new.get("kind", {}).get("S") != OPT_OUT_KIND or "used_at" not in new or "used_at" in old:
        return None
    return link_from_values(from_item(new))


class OptOuts:
    def __init__(self, table: Table) -> None:
        self.table = table

    def link(self, link: OptOutLink, expires_at: datetime) -> None:
        """The lookup for a recipient's link, as dispatch claims it (1 write unit). A redelivered
        job writes the same values again; a recurring schedule's next occurrence, whose chunks
        carry the same link, moves its message and expiry forward and leaves ``used_at`` alone."""
        self.table.update(
            keys.opt_out_pk(link.token),
            keys.OPT_OUT_SK,
            "SET kind = :kind, org_id = :org, #number = :number, message_id = :message, #sender = :sender, "
            "expires_at = :expires",
            # A token opts out one number of one organization for good: however unlikely a
            # repeat among 2**72, it never re-points a link at someone else.
            "attribute_not_exists(PK) OR (org_id = :org AND #number = :number)",
            names={"#number": "number", "#sender": "sender"},
            values={
                ":kind": OPT_OUT_KIND,
                ":org": link.org_id,
                ":number": link.number,
                ":message": link.message_id,
                ":sender": link.sender,
                ":expires": epoch_seconds(expires_at),
            },
        )

    def get(self, token: str) -> OptOutLink | None:
        # Strongly consistent: a page confirmed a moment ago must not show its button again.
        item = self.table.get(keys.opt_out_pk(token), keys.OPT_OUT_SK, consistent=True)
        return link_from_values(from_item(item)) if item is not None else None

    def use(self, link: OptOutLink, now: datetime) -> bool:
        """Mark the link used and suppress its number in the sending organization's list, both
        or neither; False when it was used before (a second click, a retried POST)."""
        suppression = {
            ":source": SuppressionSource.LINK.value,
            ":now": timestamp(now),
            ":reason": "opt-out link",
        }
        try:
            self.table.transact(
                [
                    self.table.update_item(
                        keys.opt_out_pk(link.token),
                        keys.OPT_OUT_SK,
                        "SET used_at = :now",
                        # Used once: the stream fires sms.opted_out for this change only.
                        "attribute_exists(PK) AND attribute_not_exists(used_at)",
                        values={":now": timestamp(now)},
                    ),
                    self.table.update_item(
                        keys.suppressions_pk(link.org_id),
                        keys.suppression_sk(link.number),
                        "SET #source = :source, #reason = :reason, updated_at = :now, "
                        "created_at = if_not_exists(created_at, :now)",
                        # None: suppressing is idempotent; the condition above guards the event.
                        "",
                        names={"#source": "source", "#reason": "reason"},
                        values=suppression,
                    ),
                ]
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed_condition(0):
                return False
            raise
        return True
