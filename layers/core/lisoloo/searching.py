"""GET /messages: an organization's messages, newest first, by the index that narrows them most
(DESIGN §11; the rules in ``search_rules``, the indexes in ``storage.message_index``).

A recipient's number or a reference picks one index partition; otherwise the organization's
months in the range are walked newest first. Each page reads index entries, then the messages
they name (one BatchGetItem per 100), and keeps those every filter accepts. A status or sender id
can only be checked on the message itself, so such a page reads at most
``MAX_EXAMINED_PER_PAGE`` entries and may come back short, its cursor where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice

from lisoloo.errors import InvalidRecipientsError
from lisoloo.finding_models import MessagesPage, MessageSummary
from lisoloo.phone import MalformedNumberError, normalise_number
from lisoloo.search_rules import MessageQuery, decode_cursor, encode_cursor
from lisoloo.storage import SmsRepository, keys
from lisoloo.storage.message_index import HIGHEST, LOWEST, months_between
from lisoloo.storage.table import timestamp

MAX_EXAMINED_PER_PAGE = 1_000
BATCH = 100
# A message another function created a moment ago may carry a clock slightly ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


def search_messages(
    repository: SmsRepository,
    org_id: str,
    query: MessageQuery,
    cursor: str | None,
    *,
    now: datetime,
    oldest: datetime,
    currency: str,
) -> MessagesPage:
    """One page. ``oldest`` bounds a walk over months when no ``created_after`` does: nothing
    older is kept (the retention period)."""
    low = timestamp(query.created_after) if query.created_after else LOWEST
    high = timestamp(query.created_before) if query.created_before else HIGHEST
    if cursor is not None:
        high = min(high, decode_cursor(cursor, keys.is_find_sk))
    # Unfiltered, a page reads just its own entries: one Query and one BatchGetItem.
    page_size = BATCH if query.filters_beyond_index else min(query.limit, BATCH)
    index = repository.message_index
    if query.recipient is not None:
        positions = index.sent_to(org_id, query.recipient, low, high, page_size)
    elif query.reference is not None:
        positions = index.with_reference(org_id, query.reference, low, high, page_size)
    else:
        # Only months that can hold a message: none is older than the retention nor newer than
        # now, so a range of centuries (created_after=0170-…) walks no more months than a default one.
        latest = now + CLOCK_SKEW
        months = months_between(max(query.created_after or oldest, oldest), min(query.created_before or latest, latest))
        positions = index.listed(org_id, months, low, high, page_size)
    # Both bounds of BETWEEN are inclusive; the upper one (a cursor, or created_before) is not ours.
    positions = (position for position in positions if position < high)

    found: list[MessageSummary] = []
    examined = 0
    last_position: str | None = None
    for batch in _batches(positions, page_size, MAX_EXAMINED_PER_PAGE):
        messages = repository.messages.get_many(org_id, (keys.message_of_find_sk(position) for position in batch))
        for position in batch:
            examined += 1
            last_position = position
            message = messages.get(keys.message_of_find_sk(position))
            if message is not None and query.matches(message):
                found.append(
                    MessageSummary.of(message, currency, reference=message.reference, sender_id=message.sender_id)
                )
                if len(found) == query.limit:
                    return MessagesPage(messages=found, cursor=encode_cursor(position))
        if examined >= MAX_EXAMINED_PER_PAGE:
            # Out of budget before the page filled: the next page carries on from here.
            return MessagesPage(messages=found, cursor=encode_cursor(last_position) if last_position else None)
    return MessagesPage(messages=found, cursor=None)


def recipient_number(raw: str, default_country: str) -> str:
    """``recipient=`` as stored (E.164), read as ``to`` is at send: national numbers in the
    organization's default country. A '+' left unescaped in a query string arrives as a space."""
    try:
        return normalise_number("+" + raw.lstrip() if raw.startswith(" ") else raw, default_country)
    except MalformedNumberError as problem:
        raise InvalidRecipientsError(
            [{"loc": ["query", "recipient"], "msg": str(problem), "type": "phone_number"}]
        ) from None


def _batches(positions: Iterator[str], size: int, budget: int) -> Iterator[list[str]]:
    """Positions in lists of at most ``size``, ``budget`` in all."""
    remaining = budget
    while remaining > 0:
        batch = list(islice(positions, min(size, remaining)))
        if not batch:
            return
        remaining -= len(batch)
        yield batch
