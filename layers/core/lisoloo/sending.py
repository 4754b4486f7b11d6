"""POST /send: check the request, store the message in chunks, queue one dispatch job per chunk."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lisoloo.errors import InvalidRecipientsError
from lisoloo.identifiers import new_message_id
from lisoloo.models import Caller, DispatchJob, SendAccepted, SendRequest
from lisoloo.phone import MalformedNumberError, normalise_number
from lisoloo.queues import DispatchQueue
from lisoloo.segments import count_segments
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import NewMessage, SmsRepository, chunk_count


def normalise_recipients(raw_numbers: list[str], default_country: str) -> list[str]:
    """E.164 numbers in request order. Entries that are not phone numbers, or that repeat an
    earlier entry once normalised, are all reported together (422), so one reply fixes them all.
    Full validity (a real mobile or fixed number) is dispatch's job: it is slow for 10,000."""
    problems: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    numbers: list[str] = []
    for position, raw in enumerate(raw_numbers):
        try:
            number = normalise_number(raw, default_country)
        except MalformedNumberError as error:
            problems.append({"loc": ["body", "to", position], "msg": str(error), "type": "phone_number"})
            continue
        if number in first_seen:
            problems.append(
                {
                    "loc": ["body", "to", position],
                    "msg": f"{number} repeats to[{first_seen[number]}]",
                    "type": "duplicate_recipient",
                }
            )
            continue
        first_seen[number] = position
        numbers.append(number)
    if problems:
        raise InvalidRecipientsError(problems)
    return numbers


def send_message(
    request: SendRequest,
    caller: Caller,
    *,
    repository: SmsRepository,
    queue: DispatchQueue,
    settings: Settings,
    now: datetime,
) -> SendAccepted:
    numbers = normalise_recipients(request.to, caller.default_country)
    segments = count_segments(request.message)
    message_id = new_message_id(now.timestamp())
    retention = timedelta(seconds=settings.delivery_timeout_seconds) + timedelta(days=settings.retention_days)
    repository.create_message(
        NewMessage(
            org_id=caller.org_id,
            message_id=message_id,
            text=request.message,
            sender_id=request.sender_id,
            reference=request.reference,
            encoding=segments.encoding,
            segments=segments.segments,
            total=len(numbers),
            created_at=now,
            expires_at=now + retention,
        ),
        numbers,
    )
    queue.enqueue(
        [
            DispatchJob(org_id=caller.org_id, message_id=message_id, chunk=chunk)
            for chunk in range(chunk_count(len(numbers)))
        ]
    )
    return SendAccepted(
        message_id=message_id,
        status=SmsStatus.PENDING,
        total_recipients=len(numbers),
        encoding=segments.encoding,
        segments=segments.segments,
        created_at=now,
        reference=request.reference,
    )
