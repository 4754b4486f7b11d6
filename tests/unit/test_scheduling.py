"""The rules of a schedule at send time: dates or a recurrence, in the future, no instant twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.entities import MessageContent, MessageRecord, ScheduleRecord
from lisoloo.errors import InvalidScheduleError
from lisoloo.models import RecurringSchedule, SendRequest
from lisoloo.scheduling import check_schedule, following_occurrence, new_schedule, plan_occurrences
from lisoloo.settings import Settings

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NAIROBI = timezone(timedelta(hours=3))
SETTINGS = Settings(table_name="t")
CONTENT = MessageContent(
    org_id="org_0123456789abcdef", text="x", sender_id=None, reference=None, encoding="GSM-7", segments=1, total=1
)


def problems(dates: list[datetime], recurring: RecurringSchedule | None = None) -> list[dict[str, Any]]:
    try:
        check_schedule(dates, recurring, NOW)
    except InvalidScheduleError as error:
        found: list[dict[str, Any]] = error.detail
        return found
    return []


def dates_of(*texts: str) -> list[datetime]:
    """Dates as a request's ``scheduled_dates`` reads them (kept to the second)."""
    request = SendRequest.model_validate({"to": ["+254712345678"], "message": "x", "scheduled_dates": list(texts)})
    assert request.scheduled_dates is not None
    return request.scheduled_dates


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["2026-12-02T06:00:00Z"], []),
        (["2026-12-02T06:00:00Z", "2026-12-02T06:00:01Z"], []),
        # One instant in two spellings: this created two occurrences, a double send
        (
            ["2026-12-02T06:00:00Z", "2026-12-02T09:00:00+03:00"],
            [(["body", "scheduled_dates", 1], "duplicate_date", "2026-12-02T06:00:00Z repeats scheduled_dates[0]")],
        ),
        # The same second, to the millisecond apart: shown (and kept) as one time
        (
            ["2026-12-02T06:00:00.200Z", "2026-12-02T06:00:00.700Z"],
            [(["body", "scheduled_dates", 1], "duplicate_date", "2026-12-02T06:00:00Z repeats scheduled_dates[0]")],
        ),
        # Every problem at once, each at its own position
        (
            ["2026-12-02T06:00:00Z", "2026-11-30T00:00:00Z", "2026-12-02T03:00:00-03:00", "2026-12-02T06:00:00Z"],
            [
                (["body", "scheduled_dates", 1], "past_date", "must be in the future"),
                (["body", "scheduled_dates", 2], "duplicate_date", "2026-12-02T06:00:00Z repeats scheduled_dates[0]"),
                (["body", "scheduled_dates", 3], "duplicate_date", "2026-12-02T06:00:00Z repeats scheduled_dates[0]"),
            ],
        ),
    ],
)
def test_dates_in_the_past_or_repeated_are_named(texts: list[str], expected: list[tuple[Any, ...]]) -> None:
    assert [(p["loc"], p["type"], p["msg"]) for p in problems(dates_of(*texts))] == expected


def test_a_date_that_is_also_a_time_of_the_recurrence_is_named() -> None:
    # Given a recurrence at 09:00 Nairobi on Mondays (2026-12-07 is a Monday; 06:00 UTC)
    recurring = RecurringSchedule(cron="0 9 * * MON", timezone="Africa/Nairobi")
    # Then dates off its times are its companions, and one on a time of it is named
    assert problems(dates_of("2026-12-02T06:00:00Z", "2026-12-07T06:00:01Z"), recurring) == []
    assert problems(dates_of("2026-12-02T06:00:00Z", "2026-12-07T09:00:00+03:00"), recurring) == [
        {
            "loc": ["body", "scheduled_dates", 1],
            "msg": "2026-12-07T06:00:00Z repeats a time of recurring_schedule",
            "type": "duplicate_date",
        }
    ]
    # A time after the recurrence's end_at is no time of it
    ended = RecurringSchedule(cron="0 9 * * MON", timezone="Africa/Nairobi", end_at=NOW + timedelta(days=3))
    assert problems(dates_of("2026-12-07T06:00:00Z"), ended) == []


def test_dates_are_kept_to_the_second() -> None:
    assert dates_of("2026-12-02T09:00:00.999+03:00") == [datetime(2026, 12, 2, 9, 0, tzinfo=NAIROBI)]


@given(
    seconds=st.lists(st.integers(min_value=1, max_value=10 * 24 * 3600), min_size=1, max_size=12),
    offsets=st.lists(st.integers(min_value=-12 * 60, max_value=14 * 60), min_size=12, max_size=12),
)
def test_an_accepted_list_never_holds_one_instant_twice(seconds: list[int], offsets: list[int]) -> None:
    # Given future dates, written with assorted offsets (so equal instants are spelled differently)
    dates = [
        (NOW + timedelta(seconds=second)).astimezone(timezone(timedelta(minutes=offset)))
        for second, offset in zip(seconds, offsets, strict=False)
    ]
    found = problems(dates)
    # Then exactly the positions that repeat an earlier instant are named, and the rest is distinct
    repeated = [position for position, second in enumerate(seconds) if second in seconds[:position]]
    assert [p["loc"][2] for p in found] == repeated
    accepted = [moment for position, moment in enumerate(dates) if position not in repeated]
    assert len({moment.astimezone(UTC) for moment in accepted}) == len(accepted)


def test_dates_and_a_recurrence_together_are_their_union() -> None:
    recurring = RecurringSchedule(cron="0 9 * * *", timezone="Africa/Nairobi")
    later = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    planned = plan_occurrences(new_schedule(CONTENT, recurring, NOW), [later], recurring, SETTINGS)
    # Earliest first: the recurrence's first time (occurrence 1, the sweep makes the next), then the date
    assert [(message.scheduled_for, message.occurrence_number) for message in planned] == [
        (datetime(2026, 12, 2, 6, 0, tzinfo=UTC), 1),
        (later, 0),
    ]


def test_occurrences_are_every_date_or_the_recurrences_first() -> None:
    schedule = new_schedule(CONTENT, None, NOW)
    later, sooner = NOW + timedelta(days=2), NOW + timedelta(days=1)
    planned = plan_occurrences(schedule, [later, sooner], None, SETTINGS)
    assert [(message.scheduled_for, message.occurrence_number) for message in planned] == [(sooner, 0), (later, 0)]
    recurring = RecurringSchedule(cron="0 9 * * *", timezone="Africa/Nairobi")
    planned = plan_occurrences(new_schedule(CONTENT, recurring, NOW), [], recurring, SETTINGS)
    assert [(message.scheduled_for, message.occurrence_number) for message in planned] == [
        (datetime(2026, 12, 2, 6, 0, tzinfo=UTC), 1)
    ]


def test_a_recurrence_stored_before_the_cron_rule_tightened_still_creates_its_next_occurrence() -> None:
    # Given a recurrence accepted when "0 9 * * *\n" still passed, its first occurrence released
    schedule = ScheduleRecord(
        **CONTENT.fields(),
        schedule_id="sch_0123456789abcdef",
        recurring='{"cron": "0 9 * * *\\n", "timezone": "UTC", "end_at": null, "max_occurrences": null}',
        created_at=NOW,
        occurrences_created=1,
    )
    released = MessageRecord(
        **CONTENT.fields(),
        message_id="6751f3a09c2e4b7d8a1f0c3e",
        delivered=0,
        failed=0,
        started=False,
        handed_off_chunks=0,
        created_at=NOW,
        updated_at=NOW,
        released=False,
        scheduled_for=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        schedule_id=schedule.schedule_id,
        occurrence_number=1,
    )
    # When the sweep asks for the next one, it comes, not a validation error that stops the sweep
    following = following_occurrence(schedule, released, SETTINGS, NOW)
    assert following is not None
    assert (following.scheduled_for, following.occurrence_number) == (datetime(2026, 12, 2, 9, 0, tzinfo=UTC), 2)
