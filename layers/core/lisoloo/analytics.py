"""Delivery analytics (DESIGN §11): counted as recipients are submitted and finish, read back
per day, country or sender id over a range of days. Never computed by scanning.

Submissions are counted by dispatch (the recipients it claimed and handed to a carrier: a claim
is exclusive, so a redelivered job counts none again). Final outcomes are counted wherever
recipients finish (receipts, dispatch failures, the deadline) through :func:`apply_and_count`:
only the moves the transaction applied, so a redelivered batch, whose moves are superseded,
adds nothing. Each batch writes once per distinct group (``histograms.tally``). A crash between
a batch's transaction and its counters loses that batch's increments (never doubles them): the
rows stay the truth, these are figures about them.

The receipt latency is from the message's hand-off to the carrier (its first claim, when the
message's receipt deadline starts) to the receipt being applied: exact for a message dispatched
in one go, longer by the dispatch spread for a large one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from lisoloo.entities import ChunkWork, MessageRecord, RecipientKey, Transition, TransitionOutcome
from lisoloo.finding_models import DeliveryAnalytics, DeliveryGroup
from lisoloo.histograms import GroupFigures, Outcome, tally
from lisoloo.phone import country_of
from lisoloo.route_quality import count_finals
from lisoloo.storage import SmsRepository
from lisoloo.storage.analytics import GroupKey

DIMENSIONS = ("day", "country", "sender_id")
NO_SENDER_ID = "-"
MAX_DAYS = 400


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def groups_of(message: MessageRecord, number: str) -> list[GroupKey]:
    day = _day(message.created_at)
    return [
        ("day", day, day),
        ("country", day, country_of(number)),
        ("sender_id", day, message.sender_id or NO_SENDER_ID),
    ]


def count_submissions(repository: SmsRepository, message: MessageRecord, numbers: Sequence[str]) -> None:
    if not numbers:
        return
    groups = tally(numbers, lambda number: groups_of(message, number), lambda _: Outcome(submitted=True))
    repository.analytics.add(message.org_id, groups)


def apply_and_count(
    repository: SmsRepository,
    transitions: Sequence[Transition],
    *,
    keep_going: Callable[[], bool] | None = None,
    held: ChunkWork | None = None,
) -> TransitionOutcome:
    """``recipients.apply_transitions``, then the final moves it applied counted."""
    outcome = repository.recipients.apply_transitions(transitions, keep_going=keep_going)
    count_outcomes(repository, outcome.applied, held)
    return outcome


def count_outcomes(repository: SmsRepository, applied: Sequence[Transition], held: ChunkWork | None = None) -> None:
    """``held``: the message and numbers the caller has read already (dispatch, its chunk's),
    so that failing part of a chunk costs no read of them again."""
    finals = [transition for transition in applied if transition.status.is_terminal]
    if not finals:
        return
    by_org: dict[str, list[Transition]] = {}
    for transition in finals:
        by_org.setdefault(transition.key.org_id, []).append(transition)
    for org_id, moves in by_org.items():
        if held is not None and all(_in_chunk(held, move.key) for move in moves):
            messages = {held.message.message_id: held.message}
            numbers = {move.key: held.number_of(move.key.index) for move in moves}
        else:
            messages = repository.messages.get_many(org_id, {move.key.message_id for move in moves})
            numbers = repository.recipients.numbers_of([move.key for move in moves if move.key.message_id in messages])
        repository.analytics.add(org_id, _outcome_groups(moves, messages, numbers))
        count_finals(repository, moves, numbers)


def _in_chunk(work: ChunkWork, key: RecipientKey) -> bool:
    message = work.message
    return key.org_id == message.org_id and key.message_id == message.message_id and key.index in work.indexes


def _outcome_groups(
    moves: Sequence[Transition], messages: Mapping[str, MessageRecord], numbers: Mapping[RecipientKey, str]
) -> dict[GroupKey, GroupFigures]:
    def keys(move: Transition) -> list[GroupKey]:
        return groups_of(messages[move.key.message_id], numbers[move.key])

    def outcome(move: Transition) -> Outcome:
        started = messages[move.key.message_id].started_at
        # Only a carrier's receipt has a latency (not a failure at dispatch or the deadline).
        latency = (move.at - started).total_seconds() * 1000 if started and move.carrier else None
        return Outcome(delivered=move.status.is_success, failed=not move.status.is_success, latency_ms=latency)

    return tally([move for move in moves if move.key in numbers], keys, outcome)


def read_delivery_analytics(
    repository: SmsRepository, org_id: str, group_by: str, created_after: datetime, created_before: datetime
) -> DeliveryAnalytics:
    """Per group over the days from ``created_after``'s to the day before ``created_before``
    (whole UTC days: the counters are kept per day)."""
    first = created_after.date()
    last = (created_before - timedelta(microseconds=1)).date()
    if last < first:
        last = first
    last = min(last, first + timedelta(days=MAX_DAYS))
    groups = repository.analytics.read(org_id, group_by, first.isoformat(), last.isoformat())
    return DeliveryAnalytics(
        group_by=group_by,
        first_day=first,
        last_day=last,
        groups=[_group(value, figures) for value, figures in sorted(groups.items())],
    )


def _group(value: str, figures: GroupFigures) -> DeliveryGroup:
    def rounded(latency: float | None) -> int | None:
        return round(latency) if latency is not None else None

    rate = figures.delivery_rate
    fields: dict[str, Any] = {
        "key": value,
        "submitted": figures.submitted,
        "delivered": figures.delivered,
        "failed": figures.failed,
        "delivery_rate": round(rate, 4) if rate is not None else None,
        "receipt_latency_ms": {"p50": rounded(figures.latency_ms(0.5)), "p95": rounded(figures.latency_ms(0.95))},
    }
    return DeliveryGroup(**fields)
