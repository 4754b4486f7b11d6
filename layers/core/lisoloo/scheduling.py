"""Scheduled and recurring sends (DESIGN §2): every occurrence is its own message.

Explicit ``scheduled_dates`` are all created up front; a ``recurring_schedule`` keeps exactly
one future occurrence, the sweep creating the next one when it releases the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from lisoloo.errors import ScheduleNotFoundError
from lisoloo.identifiers import is_schedule_id, new_message_id, new_schedule_id
from lisoloo.models import DispatchJob, RecurringSchedule
from lisoloo.queues import JobQueue
from lisoloo.settings import Settings
from lisoloo.storage import MessageRecord, NewMessage, NewSchedule, ScheduleRecord, SmsRepository, chunk_count

MAX_SCHEDULED_DATES = 100


def zone_named(name: str) -> ZoneInfo:
    """An IANA time zone, or ValueError (a 422 for the merchant)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def check_cron(expression: str) -> str:
    """Five-field cron (minute hour day month weekday), or ValueError."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError("cron must have five valid fields: minute hour day-of-month month day-of-week")
    return expression


def next_occurrence(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first time strictly after ``after`` (UTC) at which the cron fires, read as wall-clock
    time in ``zone``. A wall time skipped by a daylight-saving jump fires at the instant it
    would have been under the earlier offset (so 02:30 on a spring-forward night fires at
    03:30 local); a wall time that happens twice fires once, at its first occurrence."""
    wall_after = after.astimezone(zone).replace(tzinfo=None)
    candidates = croniter(expression, wall_after)
    while True:
        wall: datetime = candidates.get_next(datetime)
        moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if moment > after:
            return moment


def recurring_occurrence_after(schedule: RecurringSchedule, created: int, after: datetime) -> datetime | None:
    """The recurrence's next time, or None once it has run out (end_at or max_occurrences)."""
    if schedule.max_occurrences is not None and created >= schedule.max_occurrences:
        return None
    try:
        moment = next_occurrence(schedule.cron, zone_named(schedule.timezone), after)
    except CroniterBadDateError:
        return None  # a day that never comes (31 February): the recurrence never fires again
    if schedule.end_at is not None and moment > schedule.end_at:
        return None
    return moment


def occurrence(template: NewSchedule, scheduled_for: datetime, settings: Settings, number: int) -> NewMessage:
    return NewMessage(
        org_id=template.org_id,
        message_id=new_message_id(scheduled_for.timestamp()),
        text=template.text,
        sender_id=template.sender_id,
        reference=template.reference,
        encoding=template.encoding,
        segments=template.segments,
        total=template.total,
        created_at=template.created_at,
        expires_at=scheduled_for + settings.message_lifetime,
        due_at=scheduled_for,
        scheduled_for=scheduled_for,
        schedule_id=template.schedule_id,
        callback_url=template.callback_url,
        occurrence_number=number,
    )


def plan_occurrences(
    schedule: NewSchedule,
    scheduled_dates: Sequence[datetime],
    recurring: RecurringSchedule | None,
    settings: Settings,
) -> list[NewMessage]:
    """The occurrences created at send time, earliest first."""
    planned = [occurrence(schedule, moment, settings, 0) for moment in sorted(scheduled_dates)]
    if recurring is not None:
        first = recurring_occurrence_after(recurring, 0, schedule.created_at)
        if first is not None:
            planned.append(occurrence(schedule, first, settings, 1))
    return sorted(planned, key=lambda message: message.due_at)


def new_schedule(
    *,
    org_id: str,
    text: str,
    sender_id: str | None,
    reference: str | None,
    encoding: str,
    segments: int,
    total: int,
    recurring: RecurringSchedule | None,
    callback_url: str | None,
    now: datetime,
) -> NewSchedule:
    return NewSchedule(
        org_id=org_id,
        schedule_id=new_schedule_id(),
        text=text,
        sender_id=sender_id,
        reference=reference,
        encoding=encoding,
        segments=segments,
        total=total,
        recurring=recurring.model_dump_json() if recurring else None,
        created_at=now,
        callback_url=callback_url,
    )


def release_occurrence(
    repository: SmsRepository, queue: JobQueue, message: MessageRecord, now: datetime, settings: Settings
) -> None:
    """Turn a due occurrence into a live message: give it its own copy of the numbers, create a
    recurrence's next occurrence, mark it released, queue its dispatch jobs. Every step is safe
    to repeat, because a sweep that dies here gets the same item again, and only an occurrence
    not yet marked released is released again: so the next occurrence is created before the mark."""
    schedule = repository.get_schedule(message.org_id, message.schedule_id) if message.schedule_id else None
    if message.numbers_in_schedule and message.schedule_id:
        numbers = repository.read_schedule_numbers(message.org_id, message.schedule_id)
        expires_at = (message.scheduled_for or now) + settings.message_lifetime
        repository.copy_numbers(message.org_id, message.message_id, numbers, expires_at)
    if schedule is not None and schedule.recurring is not None and message.occurrence_number:
        _create_next(repository, schedule, message, settings)
    repository.mark_released(message.org_id, message.message_id, now)
    queue.enqueue(
        [
            DispatchJob(org_id=message.org_id, message_id=message.message_id, chunk=chunk)
            for chunk in range(chunk_count(message.total))
        ]
    )


def _create_next(
    repository: SmsRepository, schedule: ScheduleRecord, released: MessageRecord, settings: Settings
) -> None:
    recurring = RecurringSchedule.model_validate_json(schedule.recurring or "{}")
    number = released.occurrence_number or 0
    after = released.scheduled_for or datetime.now(UTC)
    moment = recurring_occurrence_after(recurring, number, after)
    if moment is None or schedule.cancelled:
        return
    # Conditional on the schedule still counting ``number`` occurrences, so a repeated release
    # never creates two "next" ones.
    repository.create_next_occurrence(schedule, occurrence(schedule.as_new(), moment, settings, number + 1))


def cancel_schedule(repository: SmsRepository, org_id: str, schedule_id: str, now: datetime) -> list[str]:
    """Remove the occurrences not yet released (their status answers 404 from then on) and
    stop the recurrence; released occurrences carry on. Returns the removed message ids."""
    if not is_schedule_id(schedule_id):
        raise ScheduleNotFoundError()
    schedule = repository.get_schedule(org_id, schedule_id)
    if schedule is None:
        raise ScheduleNotFoundError()
    repository.mark_schedule_cancelled(org_id, schedule_id, now)
    fresh = repository.get_schedule(org_id, schedule_id) or schedule
    return [
        message_id for message_id in fresh.occurrence_ids if repository.delete_unreleased_occurrence(org_id, message_id)
    ]
