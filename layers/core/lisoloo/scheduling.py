"""Scheduled and recurring sends (DESIGN §2): every occurrence is its own message.

A schedule is explicit ``scheduled_dates``, all created up front, and/or a
``recurring_schedule``, which keeps exactly one future occurrence, the sweep creating the next
one when it releases the current one. The cron rules themselves are in ``recurrence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lisoloo.accounting import estimate, reservation
from lisoloo.entities import MessageContent, MessageRecord, NewMessage, NewSchedule, ScheduleRecord
from lisoloo.errors import (
    DailySpendLimitError,
    ErrorCode,
    InsufficientBalanceError,
    InvalidScheduleError,
    ScheduleNotFoundError,
)
from lisoloo.identifiers import is_schedule_id, new_message_id, new_schedule_id
from lisoloo.models import RecurringSchedule, dispatch_jobs, format_timestamp
from lisoloo.observability import logger
from lisoloo.pricing import ZERO
from lisoloo.queues import JobQueue
from lisoloo.recurrence import occurrence_after
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository

MAX_SCHEDULED_DATES = 100


def recurring_occurrence_after(schedule: RecurringSchedule, created: int, after: datetime) -> datetime | None:
    """The recurrence's next time, or None once it has run out (end_at or max_occurrences)."""
    return occurrence_after(
        schedule.cron,
        schedule.timezone,
        after=after,
        created=created,
        end_at=schedule.end_at,
        max_occurrences=schedule.max_occurrences,
    )


def occurrence(schedule: NewSchedule, scheduled_for: datetime, settings: Settings, number: int) -> NewMessage:
    """One occurrence of ``schedule``: its own message, with the schedule's content."""
    return NewMessage(
        **MessageContent.of(schedule).fields(),
        message_id=new_message_id(scheduled_for.timestamp()),
        created_at=schedule.created_at,
        expires_at=scheduled_for + settings.time.message_lifetime,
        due_at=scheduled_for,
        scheduled_for=scheduled_for,
        schedule_id=schedule.schedule_id,
        occurrence_number=number,
    )


def check_schedule(scheduled_dates: Sequence[datetime], recurring: RecurringSchedule | None, now: datetime) -> None:
    """InvalidScheduleError listing every problem at once, so one reply fixes them all: dates
    not in the future, and a date that repeats an earlier one however its offset is written,
    or that is also a time of the recurrence sent with it (two occurrences at one instant
    would send the text twice)."""
    problems: list[dict[str, Any]] = []
    first_seen: dict[datetime, int] = {}
    for position, moment in enumerate(scheduled_dates):
        loc = ["body", "scheduled_dates", position]
        if moment <= now:
            problems.append({"loc": loc, "msg": "must be in the future", "type": "past_date"})
        elif moment in first_seen:  # aware datetimes are equal, and hash alike, by instant
            repeated = f"scheduled_dates[{first_seen[moment]}]"
            problems.append(
                {"loc": loc, "msg": f"{format_timestamp(moment)} repeats {repeated}", "type": "duplicate_date"}
            )
        elif recurring is not None and _is_a_time_of(recurring, moment):
            repeated = "a time of recurring_schedule"
            problems.append(
                {"loc": loc, "msg": f"{format_timestamp(moment)} repeats {repeated}", "type": "duplicate_date"}
            )
        else:
            first_seen[moment] = position
    if problems:
        raise InvalidScheduleError(problems)


def _is_a_time_of(recurring: RecurringSchedule, moment: datetime) -> bool:
    # Its occurrence counting from just before ``moment`` (end_at honoured; a max_occurrences
    # the recurrence might reach first is not, so a rare extra refusal, never a double send).
    return recurring_occurrence_after(recurring, 0, moment - timedelta(seconds=1)) == moment


def plan_occurrences(
    schedule: NewSchedule,
    scheduled_dates: Sequence[datetime],
    recurring: RecurringSchedule | None,
    settings: Settings,
) -> list[NewMessage]:
    """The occurrences created at send time, earliest first: every date, and the recurrence's
    first (none if it never fires). Dates and a recurrence together are their union, one
    schedule to cancel."""
    planned = [occurrence(schedule, moment, settings, 0) for moment in scheduled_dates]
    if recurring is not None:
        first = recurring_occurrence_after(recurring, 0, schedule.created_at)
        if first is not None:
            planned.append(occurrence(schedule, first, settings, 1))
    return sorted(planned, key=lambda message: message.due_at)


def new_schedule(content: MessageContent, recurring: RecurringSchedule | None, now: datetime) -> NewSchedule:
    return NewSchedule(
        **content.fields(),
        schedule_id=new_schedule_id(),
        recurring=recurring.model_dump_json() if recurring else None,
        created_at=now,
    )


def following_occurrence(
    schedule: ScheduleRecord | None, released: MessageRecord, settings: Settings, now: datetime
) -> NewMessage | None:
    """The occurrence a recurrence's release creates next; None for an explicit date, a
    recurrence that has run out, or a cancelled schedule."""
    if schedule is None or schedule.recurring is None or not released.occurrence_number or schedule.cancelled:
        return None
    recurring = RecurringSchedule.stored(schedule.recurring)
    number = released.occurrence_number
    moment = recurring_occurrence_after(recurring, number, released.scheduled_for or now)
    # Created conditionally on the schedule still counting ``number`` occurrences, so a
    # repeated release never creates two "next" ones.
    return occurrence(schedule, moment, settings, number + 1) if moment is not None else None


def release_occurrence(
    repository: SmsRepository, queue: JobQueue, message: MessageRecord, now: datetime, settings: Settings
) -> None:
    """Turn a due occurrence into a live message (storage: its own numbers, the recurrence's
    next occurrence, the release mark) and queue its dispatch jobs."""
    schedule = repository.schedules.get(message.org_id, message.schedule_id) if message.schedule_id else None
    prices = repository.prices.all()
    cost = estimate(prices, repository.schedules.numbers(message), message.segments) if prices else ZERO
    following = following_occurrence(schedule, message, settings, now)
    expire_at = (message.scheduled_for or now) + settings.time.message_lifetime
    try:
        # An occurrence reserves when it is released, at that day's prices, with the release mark.
        items = reservation(repository, message.org_id, message.message_id, cost, now)
        repository.schedules.release(message, following, now, expire_at, with_items=items)
    except (InsufficientBalanceError, DailySpendLimitError) as refusal:
        # It does not vanish: it fails whole (1420 or 1421), with its event, never submitted.
        code = (
            ErrorCode.DAILY_SPEND_LIMIT if isinstance(refusal, DailySpendLimitError) else ErrorCode.INSUFFICIENT_BALANCE
        )
        repository.schedules.release(message, following, now, expire_at, refused_code=code)
        logger.info("occurrence refused at release: balance", extra={"message_id": message.message_id})
        return
    queue.enqueue(dispatch_jobs(message.org_id, message.message_id, message.total))


def cancel_schedule(repository: SmsRepository, org_id: str, schedule_id: str, now: datetime) -> list[str]:
    """Remove the occurrences not yet released (their status answers 404 from then on) and
    stop the recurrence; released occurrences carry on. Returns the removed message ids."""
    if not is_schedule_id(schedule_id):
        raise ScheduleNotFoundError()
    schedule = repository.schedules.get(org_id, schedule_id)
    if schedule is None:
        raise ScheduleNotFoundError()
    repository.schedules.mark_cancelled(org_id, schedule_id, now)
    fresh = repository.schedules.get(org_id, schedule_id) or schedule
    return [
        message_id
        for message_id in fresh.occurrence_ids
        if repository.schedules.delete_unreleased_occurrence(org_id, message_id)
    ]
