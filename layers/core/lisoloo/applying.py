"""Applying carrier receipts: find the recipient each one names, then move it (DESIGN §2, §4).

Everything a batch of receipts names is read before anything is written: our references are
read off the receipts themselves, carrier ids through their lookup items and the messages
named through their message items, one BatchGetItem per 100 of each. A receipt for a message
that does not exist, or for an index past its recipients, is then known to be unknown and
costs nothing more, so a carrier's flood of made-up references costs a small fraction of a
request each, where it used to cost a transaction each. The moves left go per message in
transactions of ≤ 99 rows and one counter update; messages with fewer moves go first, so a
message's one receipt never waits behind another's ten thousand.

Every step asks ``keep_going`` first and every failure stays with the receipts it concerns: a
receipt nobody can read, a message whose writes fail, or the clock running out leave the other
receipts applied, and ``Progress`` says, per queued job, which were not (failed or unfinished).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.analytics import apply_and_count
from lisoloo.carriers import CarrierReceipt
from lisoloo.entities import RecipientKey, Transition
from lisoloo.errors import error_for_status
from lisoloo.falling_back import move_for_leg
from lisoloo.observability import logger, metrics
from lisoloo.receipt_entities import ParkedReceipt
from lisoloo.settings import Settings
from lisoloo.status import status_of_parts
from lisoloo.storage import SmsRepository

T = TypeVar("T")

# A receipt given up on stays this long after, for inspection, before TTL removes it.
PARKED_RECEIPT_KEPT_FOR = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    received: int
    applied: int
    ignored: int
    parked: int = 0
    # Final receipts for single parts of multi-part recipients, counted on their rows.
    parts: int = 0
    # Naming no recipient we have: not ours, a message that is gone, an index past its end.
    unknown: int = 0

    def __add__(self, other: ReceiptSummary) -> ReceiptSummary:
        return ReceiptSummary(
            received=self.received + other.received,
            applied=self.applied + other.applied,
            ignored=self.ignored + other.ignored,
            parked=self.parked + other.parked,
            parts=self.parts + other.parts,
            unknown=self.unknown + other.unknown,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One receipt of a queued job: ``job`` is its SQS message id, ``receives`` how often SQS
    has handed that job out."""

    job: str
    receipt: CarrierReceipt
    receives: int = 1
    # When the receipt reached our endpoint (None: not known, e.g. a parked one).
    received_at: datetime | None = None


class Skipped(Exception):
    """A step not taken: time ran out before it, or it failed (``Progress`` has noted which)."""


@dataclass
class Progress:
    """What a batch could not do, by queued job: ``failed`` (an error; the job is tried again
    after SQS's visibility timeout, then dead-lettered) or ``unfinished`` (no time was left to
    try it). ``keep_going`` says whether there is time for one more step."""

    keep_going: Callable[[], bool]
    failed: set[str] = field(default_factory=set)
    unfinished: set[str] = field(default_factory=set)
    errors: list[Exception] = field(default_factory=list)

    def run(self, entries: Iterable[Entry], action: Callable[[], T], what: str) -> T:
        """``action()``, if there is time for it; Skipped (the entries' jobs noted) if there is
        not, or if it raises."""
        if not self.keep_going():
            self.defer(entries)
            raise Skipped(what)
        try:
            return action()
        except Exception as error:  # whatever it was, it stays with these receipts
            jobs = sorted({entry.job for entry in entries})
            logger.exception("receipts could not be applied", extra={"step": what, "jobs": jobs[:20]})
            self.failed.update(jobs)
            self.errors.append(error)
            raise Skipped(what) from error

    def defer(self, entries: Iterable[Entry]) -> None:
        self.unfinished.update(entry.job for entry in entries)


@dataclass
class _Counts:
    unknown: int = 0
    unreadable_states: int = 0
    parked: int = 0
    parts: int = 0
    applied: int = 0
    superseded: int = 0


def apply_entries(
    repository: SmsRepository,
    carrier: str,
    entries: Sequence[Entry],
    now: datetime,
    settings: Settings,
    progress: Progress,
    *,
    park: bool = True,
) -> ReceiptSummary:
    """Apply one carrier's receipts. A receipt names its recipient by our reference (echoed by
    the carrier) or by the carrier's id through the lookup item dispatch wrote; one whose
    carrier id is not known yet is parked (``park``). A final receipt for one part of a
    multi-part recipient is counted on the row; the recipient moves when every part has
    reported (DESIGN §2)."""
    counts = _Counts()
    named: list[tuple[Entry, RecipientKey]] = []
    to_look_up: list[Entry] = []
    for entry in entries:
        if entry.receipt.status.tier is None:
            counts.unreadable_states += 1  # a carrier state we cannot read: change nothing
        elif (key := _named_recipient(entry.receipt)) is not None:
            named.append((entry, key))
        elif _names_carrier_id(entry.receipt):
            to_look_up.append(entry)
        else:
            counts.unknown += 1
    if to_look_up:
        named += _looked_up(repository, carrier, to_look_up, now, settings, progress, counts, park=park)
    moves = _moves(repository, carrier, named, now, progress, counts)
    _apply_moves(repository, moves, progress, counts)
    _record_metrics(carrier, counts)
    return ReceiptSummary(
        received=len(entries),
        applied=counts.applied,
        ignored=len(entries) - counts.applied,
        parked=counts.parked,
        parts=counts.parts,
        unknown=counts.unknown,
    )


def _named_recipient(receipt: CarrierReceipt) -> RecipientKey | None:
    if receipt.reference is not None:
        # The carrier echoed our reference (dlr-url, callback URL): no lookup needed.
        return RecipientKey.from_reference(receipt.reference)
    # A carrier that uses our reference as its id (the sandbox), or None.
    return RecipientKey.from_reference(receipt.carrier_ref)


def _names_carrier_id(receipt: CarrierReceipt) -> bool:
    """Only a receipt naming the carrier's own id can have outrun its lookup item: a
    reference of ours always names a row that existed before the carrier saw it."""
    return receipt.reference is None and bool(receipt.carrier_ref)


def _looked_up(
    repository: SmsRepository,
    carrier: str,
    entries: list[Entry],
    now: datetime,
    settings: Settings,
    progress: Progress,
    counts: _Counts,
    *,
    park: bool,
) -> list[tuple[Entry, RecipientKey]]:
    """The recipients the carrier ids name, through their lookup items (batched); the ids not
    known yet are parked, one conditional write each, or counted unknown."""
    try:
        found = progress.run(
            entries,
            lambda: repository.carrier_refs.find_many(carrier, {entry.receipt.carrier_ref for entry in entries}),
            "carrier id lookups",
        )
    except Skipped:
        return []
    named: list[tuple[Entry, RecipientKey]] = []
    for entry in entries:
        key = found.get(entry.receipt.carrier_ref)
        if key is not None:
            named.append((entry, key))
        elif not park:
            counts.unknown += 1
        else:
            try:
                progress.run([entry], partial(_park, repository, carrier, entry.receipt, now, settings), "park")
            except Skipped:
                continue
            counts.parked += 1
    return named


def _moves(
    repository: SmsRepository,
    carrier: str,
    named: list[tuple[Entry, RecipientKey]],
    now: datetime,
    progress: Progress,
    counts: _Counts,
) -> list[tuple[Entry, Transition]]:
    """The moves the named recipients make: only for messages that exist (read in batches) and
    indexes inside them; a part receipt is counted on its row first."""
    if not named:
        return []
    try:
        sizes = progress.run(
            [entry for entry, _ in named],
            lambda: repository.messages.sizes({(key.org_id, key.message_id) for _, key in named}),
            "message reads",
        )
    except Skipped:
        return []
    moves: list[tuple[Entry, Transition]] = []
    for entry, key in named:
        size = sizes.get((key.org_id, key.message_id))
        if size is None or key.index >= size.total:
            counts.unknown += 1
            continue
        receipt, status = entry.receipt, entry.receipt.status
        if size.deliver_within is not None and status.is_terminal and size.segments == 1:
            # A recipient that may have gone through two carriers: deliver-by's rules decide.
            by_legs = partial(move_for_leg, repository, carrier, key, status, now, entry.received_at)
            try:
                leg_move = progress.run([entry], by_legs, "deliver-by receipt")
            except Skipped:
                continue
            if leg_move is None:
                counts.superseded += 1  # noted on its row, or nothing left for it to change
            else:
                moves.append((entry, leg_move))
            continue
        if receipt.part and status.is_terminal and size.segments > 1:
            record = partial(repository.recipients.record_part_outcome, key, carrier, receipt.part, status)
            try:
                parts = progress.run([entry], record, "part outcome")
            except Skipped:
                continue
            counts.parts += 1
            if parts is None or not parts.complete(size.segments):
                continue
            status = status_of_parts(parts.delivered, parts.failed, parts.failure)
        transition = Transition(
            key, status, now, error_code=error_for_status(status), carrier=carrier, received_at=entry.received_at
        )
        moves.append((entry, transition))
    return moves


def _apply_moves(
    repository: SmsRepository, moves: list[tuple[Entry, Transition]], progress: Progress, counts: _Counts
) -> None:
    """Per message, its moves in transactions: messages whose jobs SQS handed out more often
    first (they were left unfinished before), then those with the fewest moves."""
    by_message: dict[tuple[str, str], list[tuple[Entry, Transition]]] = {}
    for entry, transition in moves:
        by_message.setdefault((transition.key.org_id, transition.key.message_id), []).append((entry, transition))
    groups = sorted(by_message.values(), key=lambda group: (-max(entry.receives for entry, _ in group), len(group)))
    for group in groups:
        # Transitions are values (two equal receipts make equal ones): told apart by identity.
        entry_of = {id(transition): entry for entry, transition in group}
        apply = partial(
            apply_and_count,
            repository,
            [transition for _, transition in group],
            keep_going=progress.keep_going,
        )
        try:
            outcome = progress.run(entry_of.values(), apply, "transitions")
        except Skipped:
            continue
        counts.applied += len(outcome.applied)
        counts.superseded += len(outcome.superseded)
        counts.unknown += len(outcome.missing)
        progress.defer(entry_of[id(transition)] for transition in outcome.deferred)


def _park(repository: SmsRepository, carrier: str, receipt: CarrierReceipt, now: datetime, settings: Settings) -> None:
    give_up_at = now + timedelta(seconds=settings.time.parked_receipt_window_seconds)
    repository.carrier_refs.park(
        ParkedReceipt(
            carrier=carrier,
            carrier_ref=receipt.carrier_ref,
            status=receipt.status,
            parked_at=now,
            give_up_at=give_up_at,
            error_code=receipt.error_code,
            done_at=receipt.done_at,
            part=receipt.part,
        ),
        retry_at=now + timedelta(seconds=settings.time.parked_receipt_retry_seconds),
        expires_at=give_up_at + PARKED_RECEIPT_KEPT_FOR,
    )


def _record_metrics(carrier: str, counts: _Counts) -> None:
    if counts.unknown:
        metrics.add_metric(name="UnknownReceiptReferences", unit=MetricUnit.Count, value=counts.unknown)
        logger.warning("receipts for unknown references", extra={"carrier": carrier, "count": counts.unknown})
    if counts.unreadable_states:
        metrics.add_metric(name="UnknownReceiptStates", unit=MetricUnit.Count, value=counts.unreadable_states)
        logger.warning(
            "receipts in states we cannot read", extra={"carrier": carrier, "count": counts.unreadable_states}
        )
    if counts.parked:
        metrics.add_metric(name="ParkedReceipts", unit=MetricUnit.Count, value=counts.parked)
        logger.info(
            "receipts parked until their carrier id is known", extra={"carrier": carrier, "count": counts.parked}
        )
    if counts.parts:
        metrics.add_metric(name="PartReceipts", unit=MetricUnit.Count, value=counts.parts)
    if counts.superseded:
        metrics.add_metric(name="SupersededReceipts", unit=MetricUnit.Count, value=counts.superseded)
    metrics.add_metric(name="AppliedReceipts", unit=MetricUnit.Count, value=counts.applied)
