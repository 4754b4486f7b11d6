"""Accounts and their ledgers (DESIGN §10): what an organization has paid, holds reserved and
has been charged, and every change to it as a ledger entry with an id.

The account item keeps ``balance`` (spendable, reservations already taken out), ``reserved``,
``charged`` and the sums of top-ups and adjustments, so the invariant
``topped_up + adjusted == balance + reserved + charged`` can be checked on one item. It also
keeps ``headroom`` = ``balance + credit_limit``: DynamoDB conditions cannot add, so the rule
"``balance`` never below ``-credit_limit``" is the condition ``headroom >= amount`` on every
write that takes money out.

Every change is one transaction: a Put of the ledger entry, conditioned on the entry not
existing (a redelivered or retried change finds its entry and changes nothing), and an ADD on
the account item. Never read-modify-write: concurrent changes add up in DynamoDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.types import TypeDeserializer

from lisoloo.errors import InsufficientBalanceError
from lisoloo.pricing import ZERO
from lisoloo.storage import keys
from lisoloo.storage.due import DUE_ATTRIBUTES
from lisoloo.storage.message_index import FIND_KEYS, HIGHEST, LOWEST
from lisoloo.storage.table import Item, Table, TransactionCancelled, timestamp

EntryKind = Literal["top_up", "adjustment", "reserve", "charge", "release", "credit_limit"]
_deserializer = TypeDeserializer()
# The attribute's name is the account's own: the webhooks function's stream filter passes only
# account items that carry it, so accounts without a threshold cost that function nothing.
LOW_THRESHOLD = "balance_low_threshold"
_AMOUNTS = ("balance", "reserved", "charged", "topped_up", "adjusted", "credit_limit")


@dataclass(frozen=True, slots=True)
class Account:
    org_id: str
    balance: Decimal = ZERO
    reserved: Decimal = ZERO
    charged: Decimal = ZERO
    topped_up: Decimal = ZERO
    adjusted: Decimal = ZERO
    credit_limit: Decimal = ZERO
    # The daily spend cap (None: none), the UTC day it last counted, and what is left of it then.
    daily_cap: Decimal | None = None
    cap_day: str | None = None
    cap_left: Decimal = ZERO
    # account.balance_low fires when ``available`` falls below it (None: never).
    low_threshold: Decimal | None = None

    def left_today(self, day: str) -> Decimal | None:
        """What the cap still allows on ``day``; None when there is no cap."""
        if self.daily_cap is None:
            return None
        return self.cap_left if self.cap_day == day else self.daily_cap

    @property
    def available(self) -> Decimal:
        """What a send may still reserve."""
        return self.balance + self.credit_limit


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str
    kind: EntryKind
    amount: Decimal
    created_at: str
    reference: str | None = None
    message_id: str | None = None


def listing_attributes(org_id: str, entry_id: str, created_at: str) -> dict[str, str]:
    """What a ledger entry carries to be listed newest first by ``GET /balance/ledger``: one
    KEYS_ONLY entry in the sparse ``find`` index, written once with the entry (1 write unit per
    ledger entry; a message makes three: reserve, charge, release). One partition per
    organization: entries come at most three per message, well under a partition's writes."""
    return {"find_pk": keys.ledger_list_pk(org_id), "find_sk": keys.ledger_find_sk(created_at, entry_id)}


def _entry(values: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        entry_id=values["entry_id"],
        kind=values["kind"],
        amount=Decimal(values["amount"]),
        created_at=values["created_at"],
        reference=values.get("reference"),
        message_id=values.get("message_id"),
    )


def _values(item: Item) -> dict[str, Any]:
    # Amounts stay Decimal: ``table.from_item`` would make them integers.
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def account_from_item(org_id: str, item: Item | None) -> Account:
    values = _values(item) if item else {}
    return Account(
        org_id,
        **{name: Decimal(values.get(name, 0)) for name in _AMOUNTS},
        daily_cap=Decimal(values["daily_cap"]) if "daily_cap" in values else None,
        cap_day=values.get("cap_day"),
        cap_left=Decimal(values.get("cap_left", 0)),
        low_threshold=Decimal(values[LOW_THRESHOLD]) if LOW_THRESHOLD in values else None,
    )


def is_account_item(image: Item | None) -> bool:
    return (
        image is not None
        and image.get("SK", {}).get("S") == keys.ACCOUNT_SK
        and (keys.org_of_account_pk(image.get("PK", {}).get("S", "")) is not None)
    )


def account_change(stream_images: Mapping[str, Any]) -> tuple[Account | None, Account] | None:
    """A stream record's ``dynamodb`` part as an account's change (before, after); None for any
    other item, and for an account removed (nothing to tell)."""
    old_image, new_image = stream_images.get("OldImage"), stream_images.get("NewImage")
    if not is_account_item(new_image):
        return None
    assert new_image is not None
    org_id = keys.org_of_account_pk(new_image["PK"]["S"])
    assert org_id is not None
    old = account_from_item(org_id, old_image) if is_account_item(old_image) else None
    return old, account_from_item(org_id, new_image)


class LedgerChange:
    """One ledger entry and the account change it makes, as transaction items; ``guarded`` when
    the change takes money out and must leave ``headroom`` at zero or more."""

    def __init__(self, table: Table, org_id: str, entry: LedgerEntry, adds: dict[str, Decimal], guard: Decimal) -> None:
        self.table = table
        self.org_id = org_id
        self.entry = entry
        self.adds = adds
        self.guard = guard
        # (UTC day, the account's cap, whether that day is already counting) for a reservation
        # under a daily cap; see :meth:`within_daily_cap`.
        self.cap: tuple[str, Decimal, bool] | None = None

    def within_daily_cap(self, day: str, cap: Decimal, counting: bool) -> LedgerChange:
        """Also count the amount against the daily cap: on a day already counting, ``cap_left``
        goes down, guarded; on a new day it starts again from the cap, guarded by the cap and
        the day it saw (of two concurrent first sends of a day, one is refused and tries again)."""
        self.cap = (day, cap, counting)
        return self

    def items(self) -> list[dict[str, Any]]:
        pk = keys.account_pk(self.org_id)
        entry = {
            "PK": pk,
            "SK": keys.ledger_sk(self.entry.entry_id),
            "kind": self.entry.kind,
            "entry_id": self.entry.entry_id,
            "amount": self.entry.amount,
            "reference": self.entry.reference,
            "message_id": self.entry.message_id,
            "created_at": self.entry.created_at,
            **listing_attributes(self.org_id, self.entry.entry_id, self.entry.created_at),
        }
        names = {f"#{name}": name for name in self.adds}
        values: dict[str, Any] = {f":{name}": amount for name, amount in self.adds.items()}
        adds = dict(self.adds)
        sets = "updated_at = :now"
        values[":now"] = self.entry.created_at
        conditions = []
        if self.guard > 0:
            # Money out: the account exists and balance stays at or above -credit_limit.
            conditions.append("headroom >= :guard")
            values[":guard"] = self.guard
        if self.cap is not None:
            day, cap, counting = self.cap
            values[":day"] = day
            if counting:
                # Today's spending so far leaves room for this.
                adds["cap_left"] = -self.entry.amount
                names["#cap_left"] = "cap_left"
                values[":cap_left"] = -self.entry.amount
                conditions.append("cap_day = :day AND cap_left >= :guard")
            else:
                # The first of the day: under the cap it was read with, and nobody counted today yet.
                sets += ", cap_day = :day, cap_left = :fresh"
                values[":fresh"] = cap - self.entry.amount
                values[":cap"] = cap
                conditions.append("daily_cap = :cap AND (attribute_not_exists(cap_day) OR cap_day <> :day)")
        update = "ADD " + ", ".join(f"#{name} :{name}" for name in adds) + " SET " + sets
        condition = " AND ".join(conditions)
        return [
            # The entry's id is the change's idempotency key: it is written once.
            self.table.put_item(entry, "attribute_not_exists(PK)"),
            self.table.update_item(pk, keys.ACCOUNT_SK, update, condition, names=names, values=values),
        ]


class Accounts:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, org_id: str) -> Account | None:
        item = self.table.get(keys.account_pk(org_id), keys.ACCOUNT_SK, consistent=True)
        return account_from_item(org_id, item) if item else None

    def ledger(self, org_id: str) -> list[LedgerEntry]:
        """Every entry, oldest first."""
        pk = keys.account_pk(org_id)
        entries = [
            _entry(_values(item)) for item in self.table.query_between(pk, keys.LEDGER_PREFIX, keys.LEDGER_PREFIX + "~")
        ]
        return sorted(entries, key=lambda entry: (entry.created_at, entry.entry_id))

    def ledger_page(self, org_id: str, before: str | None, limit: int) -> tuple[list[LedgerEntry], str | None]:
        """Up to ``limit`` entries, newest first, older than the ``find`` sort key ``before``;
        and the last sort key returned when more may follow. One index Query, one batch read."""
        found: list[str] = []
        high = before or HIGHEST
        for entry in self.table.query_index_descending(
            keys.FIND_INDEX, FIND_KEYS, keys.ledger_list_pk(org_id), LOWEST, high, limit + 1
        ):
            sort_key = entry["find_sk"]["S"]
            if sort_key != before:  # BETWEEN includes its bounds; the cursor's entry was on the last page
                found.append(sort_key)
            if len(found) > limit:
                break
        page, more = found[:limit], len(found) > limit
        pk = keys.account_pk(org_id)
        wanted = [(pk, keys.ledger_sk(keys.entry_of_ledger_find_sk(sort_key))) for sort_key in page]
        items = {item["SK"]["S"]: item for item in self.table.batch_get(wanted, attributes=None)}
        entries = [_entry(_values(items[sk])) for _, sk in wanted if sk in items]
        return entries, page[-1] if more and page else None

    # --- the changes ----------------------------------------------------------------------------

    def change(
        self,
        org_id: str,
        kind: EntryKind,
        entry_id: str,
        amount: Decimal,
        now: datetime,
        *,
        reference: str | None = None,
        message_id: str | None = None,
    ) -> LedgerChange:
        """The transaction items of one change (to apply alone, or with other writes)."""
        entry = LedgerEntry(f"{kind}#{entry_id}", kind, amount, timestamp(now), reference, message_id)
        adds: dict[str, Decimal]
        guard = ZERO
        if kind == "top_up":
            adds = {"balance": amount, "headroom": amount, "topped_up": amount}
        elif kind == "adjustment":
            adds = {"balance": amount, "headroom": amount, "adjusted": amount}
            guard = -amount
        elif kind == "reserve":
            adds = {"balance": -amount, "headroom": -amount, "reserved": amount}
            guard = amount
        elif kind == "charge":
            adds = {"reserved": -amount, "charged": amount}
        elif kind == "release":
            adds = {"reserved": -amount, "balance": amount, "headroom": amount}
        else:  # credit_limit: amount is the change of the limit
            adds = {"credit_limit": amount, "headroom": amount}
            guard = -amount
        return LedgerChange(self.table, org_id, entry, adds, guard)

    def apply(self, change: LedgerChange) -> bool:
        """Applies one change; False when its entry exists already (applied before: nothing
        changes); InsufficientBalanceError when it would take the balance below the limit."""
        try:
            self.table.transact(change.items())
        except TransactionCancelled as error:
            if error.failed_condition(0):
                return False
            if error.failed_condition(1):
                raise InsufficientBalanceError() from None
            raise
        return True

    def reserved_for(self, org_id: str, message_id: str) -> Decimal | None:
        """What a message reserved at send or release; None when it reserved nothing."""
        item = self.table.get(keys.account_pk(org_id), keys.ledger_sk(f"reserve#{message_id}"), consistent=True)
        return Decimal(item["amount"]["N"]) if item else None

    def settle(self, org_id: str, message_id: str, reserved: Decimal, charged: Decimal, now: datetime) -> bool:
        """A final message's reservation becomes its charge, and the rest goes back to the
        balance: two ledger entries, the account, and the charge on the message (which leaves
        the due index), in one transaction. False when it was settled before: by the same
        stream record delivered again, or by the sweep's repair (``settling``)."""
        pk = keys.account_pk(org_id)
        at = timestamp(now)
        returned = reserved - charged
        entries = [("charge", charged), ("release", returned)]
        items: list[dict[str, Any]] = [
            # Once per message, whatever redelivers the change that made it final.
            self.table.put_item(
                {
                    "PK": pk,
                    "SK": keys.ledger_sk(f"{kind}#{message_id}"),
                    "kind": kind,
                    "entry_id": f"{kind}#{message_id}",
                    "amount": amount,
                    "message_id": message_id,
                    "created_at": at,
                    **listing_attributes(org_id, f"{kind}#{message_id}", at),
                },
                "attribute_not_exists(PK)",
            )
            for kind, amount in entries
        ]
        items.append(
            self.table.update_item(
                pk,
                keys.ACCOUNT_SK,
                "ADD reserved :out, charged :charged, balance :back, headroom :back SET updated_at = :now",
                # Not guarded: money only moves from reserved to charged and back to the balance.
                "",
                values={":out": -reserved, ":charged": charged, ":back": returned, ":now": at},
            )
        )
        items.append(
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": self.table.key(keys.message_pk(org_id, message_id), keys.META),
                    # Settled, the final message has nothing left due: the sweep need not look.
                    "UpdateExpression": f"SET cost_charged = :charged REMOVE {DUE_ATTRIBUTES}",
                    # A message TTL already removed is not brought back as a stub.
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": {":charged": {"N": str(charged)}},
                }
            }
        )
        try:
            self.table.transact(items)
        except TransactionCancelled as error:
            if error.failed_condition(0):
                return False
            if error.failed_condition(3):
                # Gone: the account is settled all the same, without the message's copy.
                self.table.transact(items[:3])
                return True
            raise
        return True

    def set_daily_cap(self, org_id: str, cap: Decimal | None, now: datetime) -> Account:
        """Sets (None: removes) the daily spend cap; the day's count starts again from it."""
        if cap is None:
            self.table.update(
                keys.account_pk(org_id),
                keys.ACCOUNT_SK,
                "SET updated_at = :now REMOVE daily_cap, cap_day, cap_left",
                values={":now": timestamp(now)},
            )
        else:
            self.table.update(
                keys.account_pk(org_id),
                keys.ACCOUNT_SK,
                "SET daily_cap = :cap, updated_at = :now REMOVE cap_day, cap_left",
                values={":cap": cap, ":now": timestamp(now)},
            )
        return self.get(org_id) or Account(org_id)

    def set_low_threshold(self, org_id: str, threshold: Decimal | None, now: datetime) -> Account:
        """Sets (None: removes) the account.balance_low threshold. A plain SET: it moves no money,
        and the stream's before and after images say whether it crossed (``balance_alerts``)."""
        if threshold is None:
            self.table.update(
                keys.account_pk(org_id),
                keys.ACCOUNT_SK,
                f"SET updated_at = :now REMOVE {LOW_THRESHOLD}",
                values={":now": timestamp(now)},
            )
        else:
            self.table.update(
                keys.account_pk(org_id),
                keys.ACCOUNT_SK,
                f"SET {LOW_THRESHOLD} = :threshold, updated_at = :now",
                values={":threshold": threshold, ":now": timestamp(now)},
            )
        return self.get(org_id) or Account(org_id)

    def set_credit_limit(self, org_id: str, limit: Decimal, now: datetime) -> Account:
        """Moves the credit limit to ``limit``; refused (InsufficientBalanceError) when the
        balance is already below the new limit's floor."""
        account = self.get(org_id) or Account(org_id)
        change = self.change(org_id, "credit_limit", f"{timestamp(now)}", limit - account.credit_limit, now)
        items = change.items()
        # Against a concurrent limit change: the difference was computed from this limit.
        update = items[1]["Update"]
        held = "credit_limit = :old OR attribute_not_exists(credit_limit)"
        guard = update.get("ConditionExpression")
        update["ConditionExpression"] = f"({guard}) AND ({held})" if guard else held
        update.setdefault("ExpressionAttributeValues", {})[":old"] = {"N": str(account.credit_limit)}
        try:
            self.table.transact(items)
        except TransactionCancelled as error:
            if error.failed_condition(1):
                raise InsufficientBalanceError() from None
            raise
        return self.get(org_id) or account
