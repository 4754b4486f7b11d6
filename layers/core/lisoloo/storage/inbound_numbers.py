"""Inbound numbers (DESIGN §9): which organization a reply's receiver belongs to. Operator data:
``lisoloo-admin numbers assign|list|release`` writes it, the inbound endpoint reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lisoloo.errors import OrganizationNotFoundError
from lisoloo.storage import keys
from lisoloo.storage.table import Table, TransactionCancelled, from_item, parse_timestamp, timestamp
from lisoloo.two_way import InboundNumber


class NumberTakenError(Exception):
    """The number (or the short code's keyword) is assigned already, or a dedicated number was
    asked of a short code that has keywords (or the other way round)."""


def _number_sk(keyword: str | None) -> str:
    return keys.inbound_keyword_sk(keyword) if keyword else keys.INBOUND_DEDICATED_SK


def _number_from_values(values: dict[str, Any]) -> InboundNumber:
    return InboundNumber(
        number=values["number"],
        org_id=values["org_id"],
        keyword=values.get("keyword"),
        assigned_at=parse_timestamp(values["assigned_at"]),
    )


class InboundNumbers:
    def __init__(self, table: Table) -> None:
        self.table = table

    def assign(self, assignment: InboundNumber, now: datetime) -> None:
        """OrganizationNotFoundError, or NumberTakenError; the number's item and the listing
        under the organization are written together."""
        values = {
            "number": assignment.number,
            "org_id": assignment.org_id,
            "keyword": assignment.keyword,
            "assigned_at": timestamp(now),
        }
        pk = keys.inbound_number_pk(assignment.number)
        if not assignment.keyword and next(iter(self.table.query_between(pk, "KW#", "KW#~")), None) is not None:
            # A shared short code is nobody's dedicated number. (Read, then written: operator
            # commands, one at a time; the keyword side below is checked in the transaction.)
            raise NumberTakenError(assignment.number)
        items = [
            # The organization must exist.
            self.table.condition_check(keys.org_pk(assignment.org_id), keys.META, "attribute_exists(PK)"),
            # One owner per number, or per keyword of a short code.
            self.table.put_item({"PK": pk, "SK": _number_sk(assignment.keyword), **values}, "attribute_not_exists(PK)"),
            self.table.put_item(
                {
                    "PK": keys.org_pk(assignment.org_id),
                    "SK": keys.inbound_listing_sk(assignment.number, assignment.keyword),
                    **values,
                },
                "attribute_not_exists(PK)",
            ),
        ]
        if assignment.keyword:
            # A dedicated number takes no keywords.
            items.append(self.table.condition_check(pk, keys.INBOUND_DEDICATED_SK, "attribute_not_exists(PK)"))
        try:
            self.table.transact(items)
        except TransactionCancelled as cancelled:
            if cancelled.failed_condition(0):
                raise OrganizationNotFoundError() from None
            raise NumberTakenError(assignment.number) from None

    def release(self, org_id: str, number: str, keyword: str | None) -> bool:
        """False when the organization does not hold that number (and keyword)."""
        pk = keys.inbound_number_pk(number)
        try:
            self.table.transact(
                [
                    # Only the owner's assignment is released.
                    {
                        "Delete": {
                            "TableName": self.table.name,
                            "Key": self.table.key(pk, _number_sk(keyword)),
                            "ConditionExpression": "org_id = :org",
                            "ExpressionAttributeValues": {":org": {"S": org_id}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table.name,
                            "Key": self.table.key(keys.org_pk(org_id), keys.inbound_listing_sk(number, keyword)),
                        }
                    },
                ]
            )
        except TransactionCancelled:
            return False
        return True

    def of_organization(self, org_id: str) -> list[InboundNumber]:
        low, high = keys.inbound_listing_sk("", None), keys.inbound_listing_sk("~", None)
        items = self.table.query_between(keys.org_pk(org_id), low, high)
        return [_number_from_values(from_item(item)) for item in items]

    def resolve(self, receiver: str, first_word: str | None) -> InboundNumber | None:
        """The organization a reply to ``receiver`` is for: the number's owner, or on a shared
        short code the owner of the reply's first word. One Query, however many keywords."""
        found: Iterator[dict[str, Any]] = (
            from_item(item) for item in self.table.query_between(keys.inbound_number_pk(receiver), "KW#", "META")
        )
        by_sort_key = {values["SK"]: values for values in found}
        dedicated = by_sort_key.get(keys.INBOUND_DEDICATED_SK)
        if dedicated is not None:
            return _number_from_values(dedicated)
        if first_word:
            shared = by_sort_key.get(keys.inbound_keyword_sk(first_word))
            if shared is not None:
                return _number_from_values(shared)
        return None
