"""Cron expansion in IANA time zones: the pure rules behind recurring sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.models import RecurringSchedule
from lisoloo.recurrence import check_cron, next_occurrence, zone_named
from lisoloo.scheduling import recurring_occurrence_after


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # 09:00 in Nairobi (UTC+3, no daylight saving) is 06:00 UTC
        ("0 9 * * *", "Africa/Nairobi", "2026-12-01 00:00", "2026-12-01 06:00"),
        ("0 9 * * *", "Africa/Nairobi", "2026-12-01 06:00", "2026-12-02 06:00"),  # strictly after
        ("0 9 * * MON", "Africa/Nairobi", "2026-12-01 00:00", "2026-12-07 06:00"),
        # New York, before and after the spring-forward (2027-03-14) and fall-back (2027-11-07)
        ("0 9 * * *", "America/New_York", "2027-03-13 15:00", "2027-03-14 13:00"),
        ("0 9 * * *", "America/New_York", "2027-11-06 14:00", "2027-11-07 14:00"),
        # 02:30 does not exist on the spring-forward night: it fires at 03:30 EDT (07:30 UTC)
        ("30 2 * * *", "America/New_York", "2027-03-14 05:00", "2027-03-14 07:30"),
        # 01:30 happens twice on the fall-back night: it fires once, at the first (EDT)
        ("30 1 * * *", "America/New_York", "2027-11-07 04:00", "2027-11-07 05:30"),
        ("30 1 * * *", "America/New_York", "2027-11-07 05:30", "2027-11-08 06:30"),
        # London and UTC
        ("0 0 1 * *", "Europe/London", "2027-06-15 00:00", "2027-06-30 23:00"),
        ("*/15 * * * *", "UTC", "2026-12-01 10:07", "2026-12-01 10:15"),
    ],
)
def test_next_occurrence_reads_cron_as_wall_clock_time(cron: str, zone: str, after: str, expected: str) -> None:
    assert next_occurrence(cron, zone_named(zone), utc(after)) == utc(expected)


@pytest.mark.parametrize("cron", ["61 * * * *", "* * * *", "0 9 * * MON *", "every day", "0 25 * * *", ""])
def test_invalid_cron_is_refused(cron: str) -> None:
    with pytest.raises(ValueError):
        check_cron(cron)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "UTC+3"])
def test_unknown_zones_are_refused(zone: str) -> None:
    with pytest.raises(ValueError):
        zone_named(zone)


def test_a_recurrence_stops_at_end_at_and_at_max_occurrences() -> None:
    start = utc("2026-12-01 00:00")
    ending = RecurringSchedule(cron="0 9 * * *", timezone="UTC", end_at=utc("2026-12-02 12:00"))
    assert recurring_occurrence_after(ending, 0, start) == utc("2026-12-01 09:00")
    assert recurring_occurrence_after(ending, 1, utc("2026-12-01 09:00")) == utc("2026-12-02 09:00")
    assert recurring_occurrence_after(ending, 2, utc("2026-12-02 09:00")) is None
    counted = RecurringSchedule(cron="0 9 * * *", timezone="UTC", max_occurrences=2)
    assert recurring_occurrence_after(counted, 1, start) is not None
    assert recurring_occurrence_after(counted, 2, start) is None


@given(
    after=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "Africa/Nairobi", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    cron=st.sampled_from(["0 9 * * *", "30 2 * * *", "*/20 * * * *", "0 0 1 * *", "15 1 * * SUN"]),
)
def test_the_next_occurrence_is_later_and_within_a_month(after: datetime, zone: str, cron: str) -> None:
    moment = next_occurrence(cron, zone_named(zone), after)
    assert after < moment <= after + timedelta(days=32)
    assert moment.tzinfo is not None
