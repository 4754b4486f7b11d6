"""The indexes that find an organization's messages (DESIGN §11): by time, by number, by reference.

Both are sparse KEYS_ONLY global secondary indexes over attributes written once, when their item
is created (``keys``: "Finding messages"). A GSI entry is written again only when its key or
projected attributes change, and nothing ever changes these, so each entry costs one write in a
message's or a recipient's whole life:

- ``find`` / ``LIST#{org}#{month}``: the message item, at creation (one write per message);
- ``find`` / ``NUM#{org}#{number}``: the recipient row, when dispatch creates it (one write per
  recipient: the per-number index's whole cost);
- ``reference`` / ``REF#{org}#{reference}``: the message item of a send with a reference.

Explicit index items would cost the same unit each plus a request (or a batch slot) of their own
and a second write to keep atomic with their row; the GSI entries ride on writes made anyway.

The time listing is partitioned by organization and month. An organization's messages are
created at most as fast as its usage plan lets it ``POST /send`` (10 a second by default, each
one message item), far below a partition's 1,000 writes a second, so one partition per
organization and month takes its writes; the month bounds how much a partition holds and lets a
time range read only its months (a year is 12 partitions, the default 90 days at most 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lisoloo.storage import keys
from lisoloo.storage.table import Table, timestamp

FIND_KEYS = ("find_pk", "find_sk")
REFERENCE_KEYS = ("ref_pk", "find_sk")
# Before every sort key and after every sort key of an index partition.
LOWEST, HIGHEST = "0", "~"


def month_of(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


def months_between(oldest: datetime, newest: datetime) -> list[str]:
    """The months from ``newest``'s back to ``oldest``'s, newest first."""
    months: list[str] = []
    year, month = newest.year, newest.month
    while (year, month) >= (oldest.year, oldest.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def listing_attributes(org_id: str, message_id: str, created_at: datetime, reference: str | None) -> dict[str, Any]:
    """What a message item carries to be listed (and found by its reference)."""
    attributes: dict[str, Any] = {
        "find_pk": keys.message_list_pk(org_id, month_of(created_at)),
        "find_sk": keys.find_sk(timestamp(created_at), message_id),
    }
    if reference is not None:
        attributes["ref_pk"] = keys.reference_pk(org_id, reference)
    return attributes


def number_attributes(org_id: str, number: str, message_id: str, created_at: datetime) -> dict[str, Any]:
    """What a recipient row carries to be found by its number."""
    return {
        "find_pk": keys.number_pk(org_id, number),
        "find_sk": keys.find_sk(timestamp(created_at), message_id),
    }


class MessageIndex:
    def __init__(self, table: Table) -> None:
        self.table = table

    def listed(self, org_id: str, months: list[str], low: str, high: str, page_size: int) -> Iterator[str]:
        """Sort keys of the organization's messages in ``[low, high]``, newest first, month by
        month; each month's partition is read only once the newer ones are used up."""
        for month in months:
            pk = keys.message_list_pk(org_id, month)
            yield from self._sort_keys(keys.FIND_INDEX, FIND_KEYS, pk, low, high, page_size)

    def sent_to(self, org_id: str, number: str, low: str, high: str, page_size: int) -> Iterator[str]:
        """Sort keys of the organization's messages that had ``number`` as a recipient, newest first."""
        return self._sort_keys(keys.FIND_INDEX, FIND_KEYS, keys.number_pk(org_id, number), low, high, page_size)

    def with_reference(self, org_id: str, reference: str, low: str, high: str, page_size: int) -> Iterator[str]:
        return self._sort_keys(
            keys.REFERENCE_INDEX, REFERENCE_KEYS, keys.reference_pk(org_id, reference), low, high, page_size
        )

    def latest_message_to(self, org_id: str, number: str, since: datetime) -> str | None:
        """The organization's latest message_id sent to ``number`` created at or after ``since``
        (inbound ``in_reply_to``, DESIGN §9): one Query of one entry. A message counts once
        dispatch has created the number's recipient row, which is when it was sent."""
        for sort_key in self.sent_to(org_id, number, timestamp(since), HIGHEST, page_size=1):
            return keys.message_of_find_sk(sort_key)
        return None

    def _sort_keys(
        self, index: str, key_names: tuple[str, str], pk: str, low: str, high: str, page_size: int
    ) -> Iterator[str]:
        for entry in self.table.query_index_descending(index, key_names, pk, low, high, page_size):
            yield entry["find_sk"]["S"]
