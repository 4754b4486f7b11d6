"""Dispatch: claim one chunk's recipients, submit them to the carrier, record what happened.

Safe to run twice for the same job (SQS delivers at least once): each recipient is claimed
by one conditional write before it is submitted, so a redelivered job skips what an earlier
run already submitted, and picks up what a crashed run claimed but never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lisoloo.carriers import Carrier, Submission, SubmitOutcome, SubmitResult
from lisoloo.errors import ErrorCode
from lisoloo.models import DispatchJob
from lisoloo.observability import logger
from lisoloo.phone import is_valid_number
from lisoloo.status import SmsStatus, Tier
from lisoloo.storage import ChunkWork, RecipientKey, SmsRepository, Transition

# Longer than a dispatch run (function timeout 30 s) and shorter than the queue's visibility
# timeout, so only a redelivery after a crash can take over an unrecorded claim.
CLAIM_STALE_AFTER = timedelta(seconds=60)


class CarrierUnavailableError(Exception):
    """Some recipients met a transient carrier failure; the job must run again later."""


@dataclass(slots=True)
class DispatchSummary:
    submitted: int = 0
    handed_off: int = 0
    failed: int = 0
    transient: int = 0
    skipped: int = 0
    unreachable: list[int] = field(default_factory=list)


def dispatch_chunk(
    job: DispatchJob, *, repository: SmsRepository, carrier: Carrier, now: datetime
) -> DispatchSummary:
    summary = DispatchSummary()
    work = repository.read_chunk_work(job.org_id, job.message_id, job.chunk)
    if work is None:
        logger.info("message gone before dispatch", extra={"message_id": job.message_id})
        return summary

    done = {index for index, row in work.rows.items() if (row.status.tier or Tier.PENDING) >= Tier.HANDED_OFF}
    failures: list[Transition] = []
    claimed: list[Submission] = []
    for offset, number in enumerate(work.numbers):
        index = work.first_index + offset
        if index in done:
            summary.skipped += 1
            continue
        key = RecipientKey(job.org_id, job.message_id, index)
        if index not in work.rows and not is_valid_number(number):
            failures.append(
                Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.INVALID_NUMBER, create=True)
            )
        elif repository.claim_recipient(key, carrier.name, now, CLAIM_STALE_AFTER):
            claimed.append(_submission(key, number, work))
        else:
            # Another run holds a fresh claim on it; that run records its outcome.
            summary.skipped += 1

    if claimed:
        repository.mark_started(job.org_id, job.message_id, now)
        results = carrier.submit(claimed)
        summary.submitted = len(claimed)
        rejected, accepted = _record_results(repository, results, now, summary)
        failures.extend(rejected)
        done.update(accepted)

    if failures:
        repository.apply_transitions(failures)
        summary.failed = len(failures)
        done.update(transition.key.index for transition in failures)

    # The chunk is handed off when none of its recipients still waits on us.
    if len(done) == len(work.numbers) and work.numbers:
        repository.mark_chunk_handed_off(job.org_id, job.message_id, job.chunk, now)
    return summary


def _submission(key: RecipientKey, number: str, work: ChunkWork) -> Submission:
    return Submission(
        reference=key.reference,
        to=number,
        text=work.message.text,
        sender_id=work.message.sender_id,
        segments=work.message.segments,
    )


def _record_results(
    repository: SmsRepository, results: list[SubmitResult], now: datetime, summary: DispatchSummary
) -> tuple[list[Transition], set[int]]:
    """Record accepted recipients as handed off; return the rejected ones as terminal
    transitions, and the indices now past us."""
    rejected: list[Transition] = []
    accepted: set[int] = set()
    for result in results:
        key = RecipientKey.from_reference(result.reference)
        if key is None:
            continue
        if result.outcome is SubmitOutcome.ACCEPTED:
            # Applied or not (a receipt may have got there first), the recipient is past us.
            repository.record_handoff(key, result.carrier_ref or result.reference, now)
            accepted.add(key.index)
            summary.handed_off += 1
        elif result.outcome is SubmitOutcome.REJECTED:
            rejected.append(Transition(key, SmsStatus.REJECTED, now, error_code=ErrorCode.CARRIER_REJECTED))
        else:
            summary.transient += 1
            summary.unreachable.append(key.index)
    return rejected, accepted
