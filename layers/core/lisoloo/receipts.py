"""Carrier delivery receipts: authenticate the carrier, read its receipts, move recipients.

Two steps. The receipts endpoint authenticates the carrier, parses its request and puts the
receipts on the ``receipts`` queue (``queue_receipts``), then answers 2xx: a receipt is
durable before the carrier hears back, and a burst costs one SQS request per carrier request.
Receipt-apply takes them off the queue in large batches (``apply_receipt_jobs``): per message
up to 99 recipient moves and one counter update per transaction, so however many receipts
arrive together, the message item is written once per 99 of them, not once per receipt.

Carriers retry anything but a 2xx, so whatever we cannot use (unknown reference, unreadable
body, a state we do not know) is answered 200, counted in a metric, and changes nothing.

Parking (DESIGN §2): a receipt naming a carrier id that no lookup item knows yet may have
outrun the submit response. It is kept as an item in the sweep's sparse ``due`` index,
tried again every ``parked_receipt_retry_seconds`` and given up (an error log and the
``ReceiptsGivenUp`` metric, the item kept a week for inspection) after
``parked_receipt_window_seconds``. The due index was chosen over an SQS delay queue: it
is already leased and swept every minute, costs nothing while nothing is parked, needs no
new queue, consumer or permissions, and keeps the receipt next to its lookup item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.carriers import Carrier, CarrierReceipt, ReceiptRequest
from lisoloo.entities import DueItem, ParkedReceipt, RecipientKey, Transition
from lisoloo.errors import error_for_status
from lisoloo.models import QueuedReceipt, ReceiptJob
from lisoloo.observability import logger, metrics
from lisoloo.queues import JobQueue
from lisoloo.settings import Settings
from lisoloo.status import status_of_parts
from lisoloo.storage import SmsRepository

# A receipt given up on stays this long after, for inspection, before TTL removes it.
PARKED_RECEIPT_KEPT_FOR = timedelta(days=7)
# Receipts per queued job: one carrier request usually carries one; this keeps a job of a
# request that carries many far below SQS's 256 KB.
RECEIPTS_PER_JOB = 100


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    received: int
    applied: int
    ignored: int
    parked: int = 0
    # Final receipts for single parts of multi-part recipients, counted on their rows.
    parts: int = 0

    def __add__(self, other: ReceiptSummary) -> ReceiptSummary:
        return ReceiptSummary(
            received=self.received + other.received,
            applied=self.applied + other.applied,
            ignored=self.ignored + other.ignored,
            parked=self.parked + other.parked,
            parts=self.parts + other.parts,
        )


class ReceiptsNotAppliedError(Exception):
    """A queued job whose receipts could not be applied (the batch reports it failed)."""


@dataclass(frozen=True, slots=True)
class ReceiptBatchOutcome:
    summary: ReceiptSummary
    # The queued jobs that could not be applied: reported as failed, SQS gives them again.
    failed: frozenset[str]


def queue_receipts(carrier: Carrier, request: ReceiptRequest, queue: JobQueue, now: datetime) -> int:
    """Parse a carrier's request and queue what it reports for receipt-apply; returns how many
    receipts were queued. What cannot be read is logged, counted and dropped here."""
    receipts = carrier.parse_receipts(request)
    if not receipts:
        metrics.add_metric(name="UnreadableReceipts", unit=MetricUnit.Count, value=1)
        logger.warning(
            "unreadable receipt",
            extra={"carrier": carrier.name, "body": request.body[:500], "query": _redacted(request.query)},
        )
        return 0
    readable = [receipt for receipt in receipts if receipt.status.tier is not None]
    if len(readable) < len(receipts):
        # A carrier state we cannot read: change nothing (DESIGN §3 ``unknown``).
        metrics.add_metric(name="UnknownReceiptStates", unit=MetricUnit.Count, value=len(receipts) - len(readable))
        logger.warning(
            "receipts in states we cannot read", extra={"carrier": carrier.name, "request": request.body[:500]}
        )
    jobs = [
        ReceiptJob(
            carrier=carrier.name,
            received_at=now,
            receipts=[_queued(receipt) for receipt in readable[start : start + RECEIPTS_PER_JOB]],
        )
        for start in range(0, len(readable), RECEIPTS_PER_JOB)
    ]
    queue.enqueue(jobs)
    metrics.add_metric(name="QueuedReceipts", unit=MetricUnit.Count, value=len(readable))
    return len(readable)


def apply_receipt_jobs(
    repository: SmsRepository, jobs: Mapping[str, ReceiptJob], now: datetime, settings: Settings
) -> ReceiptBatchOutcome:
    """Apply a batch of queued jobs (by SQS message id) together: every carrier's receipts in
    one ``apply_carrier_receipts``, so each message gets as few transactions as its receipts
    allow. Should that fail, the jobs are applied one by one, and only those that fail alone
    are reported failed (re-applying the others later would be harmless: moves are guarded)."""
    by_carrier: dict[str, list[str]] = {}
    for job_id, job in jobs.items():
        by_carrier.setdefault(job.carrier, []).append(job_id)
    summary = ReceiptSummary(received=0, applied=0, ignored=0)
    failed: set[str] = set()
    for carrier, job_ids in by_carrier.items():
        receipts = [_carrier_receipt(queued) for job_id in job_ids for queued in jobs[job_id].receipts]
        try:
            summary += apply_carrier_receipts(repository, carrier, receipts, now, settings)
            continue
        except Exception:  # whatever it was, find the jobs it comes from
            logger.exception("a batch of receipts failed; applying its jobs one by one", extra={"carrier": carrier})
        for job_id in job_ids:
            try:
                job_receipts = [_carrier_receipt(queued) for queued in jobs[job_id].receipts]
                summary += apply_carrier_receipts(repository, carrier, job_receipts, now, settings)
            except Exception:  # reported failed: SQS gives it again, then the DLQ
                logger.exception("receipts could not be applied", extra={"carrier": carrier, "job": job_id})
                failed.add(job_id)
    return ReceiptBatchOutcome(summary=summary, failed=frozenset(failed))


def apply_carrier_receipts(
    repository: SmsRepository,
    carrier: str,
    receipts: Sequence[CarrierReceipt],
    now: datetime,
    settings: Settings,
    *,
    park: bool = True,
) -> ReceiptSummary:
    """Move the recipients the receipts name, all of a message's moves in one transaction.

    A receipt names its recipient by our reference (echoed by the carrier) or by the
    carrier's id through the lookup item dispatch wrote; one whose carrier id is not known
    yet is parked (``park``). A final receipt for one part of a multi-part recipient is
    counted on the row; the recipient moves when every part has reported (DESIGN §2).
    """
    transitions: list[Transition] = []
    unreadable_states = unknown = parked = parts = 0
    segments: dict[tuple[str, str], int | None] = {}
    for receipt in receipts:
        if receipt.status.tier is None:
            unreadable_states += 1  # a carrier state we cannot read: change nothing
            continue
        key = _recipient_of(repository, carrier, receipt)
        if key is None:
            if park and _names_carrier_id(receipt):
                _park(repository, carrier, receipt, now, settings)
                parked += 1
            else:
                unknown += 1
            continue
        status = receipt.status
        if receipt.part and status.is_terminal:
            total = _segments_of(repository, key, segments)
            if total is None:
                unknown += 1
                continue
            if total > 1:
                progress = repository.recipients.record_part_outcome(key, carrier, receipt.part, status)
                parts += 1
                if progress is None or progress.reported < total:
                    continue
                status = status_of_parts(progress.delivered, progress.failed, progress.failure)
        transitions.append(Transition(key, status, now, error_code=error_for_status(status), carrier=carrier))
    outcome = repository.recipients.apply_transitions(transitions)
    unknown += len(outcome.missing)
    if unknown:
        metrics.add_metric(name="UnknownReceiptReferences", unit=MetricUnit.Count, value=unknown)
        logger.warning("receipts for unknown references", extra={"carrier": carrier, "count": unknown})
    if unreadable_states:
        metrics.add_metric(name="UnknownReceiptStates", unit=MetricUnit.Count, value=unreadable_states)
        logger.warning("receipts in states we cannot read", extra={"carrier": carrier, "count": unreadable_states})
    if parked:
        metrics.add_metric(name="ParkedReceipts", unit=MetricUnit.Count, value=parked)
        logger.info("receipts parked until their carrier id is known", extra={"carrier": carrier, "count": parked})
    if parts:
        metrics.add_metric(name="PartReceipts", unit=MetricUnit.Count, value=parts)
    if outcome.superseded:
        metrics.add_metric(name="SupersededReceipts", unit=MetricUnit.Count, value=len(outcome.superseded))
    metrics.add_metric(name="AppliedReceipts", unit=MetricUnit.Count, value=len(outcome.applied))
    return ReceiptSummary(
        received=len(receipts),
        applied=len(outcome.applied),
        ignored=len(receipts) - len(outcome.applied),
        parked=parked,
        parts=parts,
    )


class ParkedOutcome(StrEnum):
    APPLIED = "applied"  # its carrier id is known now: applied and removed
    WAITING = "waiting"  # still unknown: due again shortly
    GIVEN_UP = "given_up"  # unknown for the whole window: logged as an error, left for inspection until TTL
    GONE = "gone"


def retry_parked_receipt(repository: SmsRepository, item: DueItem, now: datetime, settings: Settings) -> ParkedOutcome:
    """The sweep's part of parking: apply a parked receipt once dispatch has linked its
    carrier id, try again a little later while the window lasts, then give it up loudly."""
    parked = repository.carrier_refs.get_parked(item)
    if parked is None:
        repository.due.finish(item)
        return ParkedOutcome.GONE
    if repository.carrier_refs.find(parked.carrier, parked.carrier_ref) is None:
        if now >= parked.give_up_at:
            metrics.add_metric(name="ReceiptsGivenUp", unit=MetricUnit.Count, value=1)
            logger.error("parked receipt given up: its carrier id never became known", extra={"receipt": parked})
            repository.due.finish(item)
            return ParkedOutcome.GIVEN_UP
        next_try = min(now + timedelta(seconds=settings.time.parked_receipt_retry_seconds), parked.give_up_at)
        repository.due.finish(item, next_due=next_try)
        return ParkedOutcome.WAITING
    receipt = CarrierReceipt(
        carrier_ref=parked.carrier_ref,
        status=parked.status,
        error_code=parked.error_code,
        done_at=parked.done_at,
        part=parked.part,
    )
    apply_carrier_receipts(repository, parked.carrier, [receipt], now, settings, park=False)
    repository.carrier_refs.drop_parked(item)
    metrics.add_metric(name="UnparkedReceipts", unit=MetricUnit.Count, value=1)
    return ParkedOutcome.APPLIED


def _recipient_of(repository: SmsRepository, carrier: str, receipt: CarrierReceipt) -> RecipientKey | None:
    if receipt.reference is not None:
        # The carrier echoed our reference (dlr-url, callback URL): no lookup needed.
        return RecipientKey.from_reference(receipt.reference)
    direct = RecipientKey.from_reference(receipt.carrier_ref)
    if direct is not None:
        return direct  # a carrier that uses our reference as its id (the sandbox)
    return repository.carrier_refs.find(carrier, receipt.carrier_ref) if receipt.carrier_ref else None


def _names_carrier_id(receipt: CarrierReceipt) -> bool:
    """Only a receipt naming the carrier's own id can have outrun its lookup item: a
    reference of ours always names a row that existed before the carrier saw it."""
    return receipt.reference is None and bool(receipt.carrier_ref)


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


def _segments_of(repository: SmsRepository, key: RecipientKey, cache: dict[tuple[str, str], int | None]) -> int | None:
    """How many parts the recipient's text went as (None: the message is gone)."""
    message_key = (key.org_id, key.message_id)
    if message_key not in cache:
        message = repository.messages.get(key.org_id, key.message_id)
        cache[message_key] = message.segments if message else None
    return cache[message_key]


def _queued(receipt: CarrierReceipt) -> QueuedReceipt:
    values = asdict(receipt)
    if receipt.done_at is not None and receipt.done_at.tzinfo is None:
        values["done_at"] = receipt.done_at.replace(tzinfo=UTC)  # carriers' clocks: read as UTC
    return QueuedReceipt.model_validate(values)


def _carrier_receipt(queued: QueuedReceipt) -> CarrierReceipt:
    return CarrierReceipt(**queued.model_dump())


def _redacted(query: Mapping[str, str]) -> dict[str, str]:
    return {name: ("<redacted>" if name == "token" else str(value)[:200]) for name, value in query.items()}
