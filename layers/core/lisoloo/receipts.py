"""Carrier delivery receipts: authenticate the carrier, read its receipts, move recipients.

Two steps. The receipts endpoint authenticates the carrier, parses its request and puts the
receipts on the ``receipts`` queue (``queue_receipts``), then answers 2xx: a receipt is
durable before the carrier hears back, and a burst costs one SQS request per carrier request.
Receipt-apply takes them off the queue in large batches (``apply_receipt_jobs``, then
``applying``): per message up to 99 recipient moves and one counter update per transaction,
so however many receipts arrive together, the message item is written once per 99 of them,
not once per receipt; within the time its invocation has, whatever a carrier sends.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from lisoloo.applying import Entry, Progress, ReceiptSummary, apply_entries
from lisoloo.carriers import Carrier, CarrierReceipt, ReceiptRequest
from lisoloo.entities import DueItem
from lisoloo.models import QueuedReceipt, ReceiptJob
from lisoloo.observability import logger, metrics
from lisoloo.queues import JobQueue
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository

__all__ = [
    "ParkedOutcome",
    "QueuedJob",
    "ReceiptBatchOutcome",
    "ReceiptSummary",
    "ReceiptsNotAppliedError",
    "apply_carrier_receipts",
    "apply_receipt_jobs",
    "queue_receipts",
    "retry_parked_receipt",
]

# Receipts per queued job: one carrier request usually carries one; this keeps a job of a
# request that carries many far below SQS's 256 KB.
RECEIPTS_PER_JOB = 100
# Receipts one carrier request may queue: a whole message's (10,000 recipients), in 10
# SendMessageBatch requests, well inside the function's time. The rest are dropped, counted and
# logged, and the request still answered 2xx with the count queued: a carrier resends anything
# else forever, and a flood queued whole could outlast the function (API Gateway allows 10 MB).
MAX_RECEIPTS_PER_REQUEST = 10_000
# Receipt-apply stops starting new work with this much of its invocation left (the sweep's
# reserve, for the same reason): the slowest step it may still take, a transaction retried
# through conflicts and throttling, fits in it, and so does reporting what is left.
TIME_RESERVE_SECONDS = 10.0
# Receipts read per round (a BatchGetItem per 100 messages or carrier ids named) before their
# moves are written: a hundred full transactions' worth, so a batch of 990 receipts is one
# round, while a batch that cannot finish in time still finishes its first rounds.
ROUND_RECEIPTS = 9_900


class ReceiptsNotAppliedError(Exception):
    """A queued job whose receipts could not be applied (the batch reports it failed)."""


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A receipt job as SQS handed it over: its message id, and how often it has been handed out."""

    job_id: str
    receives: int
    job: ReceiptJob


@dataclass(frozen=True, slots=True)
class ReceiptBatchOutcome:
    summary: ReceiptSummary
    # Jobs with receipts that failed: reported failed, SQS gives them again after its
    # visibility timeout (a backoff), then to the dead-letter queue.
    failed: frozenset[str]
    # Jobs with receipts not reached before the time ran out (and none failed): reported
    # failed too, but to be handed out again at once; nothing was wrong with them.
    unfinished: frozenset[str]


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
    if len(receipts) > MAX_RECEIPTS_PER_REQUEST:
        metrics.add_metric(
            name="ReceiptsOverLimit", unit=MetricUnit.Count, value=len(receipts) - MAX_RECEIPTS_PER_REQUEST
        )
        logger.error(
            "a request with more receipts than one may carry: the rest dropped",
            extra={"carrier": carrier.name, "receipts": len(receipts), "kept": MAX_RECEIPTS_PER_REQUEST},
        )
        receipts = receipts[:MAX_RECEIPTS_PER_REQUEST]
    readable = [receipt for receipt in receipts if receipt.status.tier is not None]
    if len(readable) < len(receipts):
        # A carrier state we cannot read: change nothing (DESIGN §3 ``unknown``).
        metrics.add_metric(name="UnknownReceiptStates", unit=MetricUnit.Count, value=len(receipts) - len(readable))
        logger.warning(
            "receipts in states we cannot read", extra={"carrier": carrier.name, "request": request.body[:500]}
        )
    queued = [found for receipt in readable if (found := _queued(receipt)) is not None]
    if len(queued) < len(readable):
        # Ids, references or codes longer than any carrier's: not a receipt we can use.
        metrics.add_metric(name="UnreadableReceipts", unit=MetricUnit.Count, value=len(readable) - len(queued))
        logger.warning(
            "receipts with fields past their limits",
            extra={"carrier": carrier.name, "count": len(readable) - len(queued)},
        )
    jobs = [
        ReceiptJob(carrier=carrier.name, received_at=now, receipts=queued[start : start + RECEIPTS_PER_JOB])
        for start in range(0, len(queued), RECEIPTS_PER_JOB)
    ]
    queue.enqueue(jobs)
    metrics.add_metric(name="QueuedReceipts", unit=MetricUnit.Count, value=len(queued))
    return len(queued)


def apply_receipt_jobs(
    repository: SmsRepository,
    jobs: Sequence[QueuedJob],
    now: datetime,
    settings: Settings,
    seconds_left: Callable[[], float],
) -> ReceiptBatchOutcome:
    """Apply a batch of queued jobs together, so each message gets as few transactions as its
    receipts allow, while ``seconds_left`` (the invocation's remaining time) keeps
    ``TIME_RESERVE_SECONDS``. Jobs SQS handed out more often go first (time ran out on them
    before); then they go in rounds of about ``ROUND_RECEIPTS`` receipts, each read, then
    written. A failure is kept to the receipts it concerns (the others are applied); the
    outcome names the jobs with receipts that failed and those not reached in time."""
    progress = Progress(keep_going=lambda: seconds_left() >= TIME_RESERVE_SECONDS)
    summary = ReceiptSummary(received=0, applied=0, ignored=0)
    for round_jobs in _rounds(sorted(jobs, key=lambda queued: -queued.receives)):
        by_carrier: dict[str, list[Entry]] = {}
        for queued in round_jobs:
            by_carrier.setdefault(queued.job.carrier, []).extend(
                Entry(queued.job_id, _carrier_receipt(receipt), queued.receives, queued.job.received_at)
                for receipt in queued.job.receipts
            )
        for carrier, entries in by_carrier.items():
            if progress.keep_going():
                summary += apply_entries(repository, carrier, entries, now, settings, progress)
            else:
                progress.defer(entries)
    unfinished = progress.unfinished - progress.failed
    if unfinished:
        metrics.add_metric(name="ReceiptJobsOutOfTime", unit=MetricUnit.Count, value=len(unfinished))
        logger.warning("out of time: receipt jobs left for the next batch", extra={"jobs": len(unfinished)})
    return ReceiptBatchOutcome(summary=summary, failed=frozenset(progress.failed), unfinished=frozenset(unfinished))


def apply_carrier_receipts(
    repository: SmsRepository,
    carrier: str,
    receipts: Sequence[CarrierReceipt],
    now: datetime,
    settings: Settings,
    *,
    park: bool = True,
) -> ReceiptSummary:
    """Apply one carrier's receipts with no time limit (see ``applying.apply_entries``); the
    first failure is raised once every receipt it did not concern has been applied."""
    progress = Progress(keep_going=lambda: True)
    entries = [Entry("", receipt) for receipt in receipts]
    summary = apply_entries(repository, carrier, entries, now, settings, progress, park=park)
    if progress.errors:
        raise progress.errors[0]
    return summary


def _rounds(jobs: Sequence[QueuedJob]) -> list[list[QueuedJob]]:
    """Consecutive jobs, about ``ROUND_RECEIPTS`` receipts a round (at least one job each)."""
    rounds: list[list[QueuedJob]] = []
    size = ROUND_RECEIPTS
    for queued in jobs:
        if size + len(queued.job.receipts) > ROUND_RECEIPTS:
            rounds.append([])
            size = 0
        rounds[-1].append(queued)
        size += len(queued.job.receipts)
    return rounds


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


def _queued(receipt: CarrierReceipt) -> QueuedReceipt | None:
    """The receipt as a job carries it; None when a field is past its limit (``QueuedReceipt``)."""
    values = asdict(receipt)
    if receipt.done_at is not None and receipt.done_at.tzinfo is None:
        values["done_at"] = receipt.done_at.replace(tzinfo=UTC)  # carriers' clocks: read as UTC
    try:
        return QueuedReceipt.model_validate(values)
    except ValidationError:
        return None


def _carrier_receipt(queued: QueuedReceipt) -> CarrierReceipt:
    return CarrierReceipt(**queued.model_dump())


def _redacted(query: Mapping[str, str]) -> dict[str, str]:
    return {name: ("<redacted>" if name == "token" else str(value)[:200]) for name, value in query.items()}
