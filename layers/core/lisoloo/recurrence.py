"""Recurrence rules: five-field cron read as wall-clock time in an IANA zone (pure, no I/O).

The clock is never read here: every rule takes the instant it counts from.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter


def zone_named(name: str) -> ZoneInfo:
    """An IANA time zone, or ValueError (a 422 for the merchant)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


# Printable ASCII only: croniter also takes "\n", "\t" and Arabic-Indic digits (int()
# reads any Unicode digit).
_CRON_CHARACTERS = re.compile(r"[\x20-\x7e]+")


def check_cron(expression: str) -> str:
    """Five-field cron (minute hour day month weekday), or ValueError."""
    if not _CRON_CHARACTERS.fullmatch(expression) or len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(
            "cron must be five valid fields of printable ASCII: minute hour day-of-month month day-of-week"
        )
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


def occurrence_after(
    cron: str,
    timezone: str,
    *,
    after: datetime,
    created: int,
    end_at: datetime | None = None,
    max_occurrences: int | None = None,
) -> datetime | None:
    """A recurrence's next time after ``after``, given ``created`` occurrences so far; None
    once it has run out (``end_at`` or ``max_occurrences``, whichever comes first)."""
    if max_occurrences is not None and created >= max_occurrences:
        return None
    try:
        moment = next_occurrence(cron, zone_named(timezone), after)
    except CroniterBadDateError:
        return None  # a day that never comes (31 February): the recurrence never fires again
    if end_at is not None and moment > end_at:
        return None
    return moment
