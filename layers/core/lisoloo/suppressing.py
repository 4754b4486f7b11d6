"""The suppressions API (DESIGN §9): numbers an organization must not send to, normalised like
``to`` so "0712 345 678" and "+254712345678" are one entry."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote

from lisoloo.errors import InvalidRecipientsError, SuppressionNotFoundError
from lisoloo.models import Caller
from lisoloo.phone import MalformedNumberError, normalise_number
from lisoloo.sending import normalise_recipients
from lisoloo.storage import SmsRepository
from lisoloo.two_way import SuppressionRecord, SuppressionSource
from lisoloo.two_way_models import Suppression, SuppressionPage, SuppressionRemoved


def _suppression(record: SuppressionRecord) -> Suppression:
    return Suppression(
        number=record.number,
        reason=record.reason,
        source=record.source.value,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _number(raw: str, caller: Caller) -> str:
    """A number from the path: percent-escapes read (a client may well send "+" as %2B, and no
    number holds a "%"), then normalised like ``to``."""
    try:
        return normalise_number(unquote(raw), caller.default_country)
    except MalformedNumberError as error:
        raise InvalidRecipientsError([{"loc": ["path", "number"], "msg": str(error), "type": "phone_number"}]) from None


def suppress(
    repository: SmsRepository, caller: Caller, raw_number: str, reason: str | None, now: datetime
) -> Suppression:
    record = repository.suppressions.add(caller.org_id, _number(raw_number, caller), reason, SuppressionSource.API, now)
    return _suppression(record)


def suppress_many(
    repository: SmsRepository, caller: Caller, raw_numbers: list[str], reason: str | None, now: datetime
) -> int:
    """All or nothing: any entry that is not a number (or repeats one) fails the request (422),
    every problem listed, as ``POST /send`` does with ``to``."""
    try:
        numbers = normalise_recipients(raw_numbers, caller.default_country)
    except InvalidRecipientsError as error:
        raise InvalidRecipientsError(
            [{**problem, "loc": ["body", "numbers", *problem["loc"][2:]]} for problem in error.detail]
        ) from None
    repository.suppressions.add_many(caller.org_id, numbers, reason, now)
    return len(numbers)


def lift(repository: SmsRepository, caller: Caller, raw_number: str) -> SuppressionRemoved:
    """404 when the number is not on the caller's list (whatever other lists hold it)."""
    number = _number(raw_number, caller)
    if not repository.suppressions.remove(caller.org_id, number):
        raise SuppressionNotFoundError()
    return SuppressionRemoved(number=number)


def list_suppressions(repository: SmsRepository, org_id: str, limit: int, cursor: str | None) -> SuppressionPage:
    records, more = repository.suppressions.page(org_id, limit, cursor)
    next_cursor = records[-1].number if more and records else None
    return SuppressionPage(suppressions=[_suppression(record) for record in records], cursor=next_cursor)
