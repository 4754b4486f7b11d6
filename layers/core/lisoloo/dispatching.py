"""Dispatch: claim one chunk's recipients, submit them to the carrier, record what happened.

Safe to run twice for the same job (SQS delivers at least once): each recipient is claimed
by one conditional write before it is submitted, so a redelivered job skips what an earlier
run already submitted, and picks up what a crashed run claimed but never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lisoloo.carriers import Carrier, Submission, SubmitOutcome, SubmitResult
from lisoloo.errors import ErrorCode
from lisoloo.models import DispatchJob
from lisoloo.observability import logger
from lisoloo.phone import is_valid_number
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus, Tier
from lisoloo.storage import MessageRecord, RecipientKey, SmsRepository, Transition

# Longer than a dispatch run (function timeout 30 s) and shorter than the queue's visibility
# timeout, so only a redelivery after a crash can take over an unrecorded claim.
CLAIM_STALE_AFTER = timedelta(seconds=60)


@dataclass(slots=True)
class DispatchSummary:
    submitted: int = 0
    handed_off: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0


def dispatch_chunk(
    job: DispatchJob, *, repository: SmsRepository, carrier: Carrier, settings: Settings, now: datetime
) -> DispatchSummary:
    summary = DispatchSummary()
    work = repository.read_chunk_work(job.org_id, job.message_id, job.chunk)
    if work is None or not work.message.released:
        # Cancelled, expired, or a scheduled occurrence the sweep has not released yet.
        logger.info("nothing to dispatch", extra={"message_id": job.message_id, "chunk": job.chunk})
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
            failures.append(Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.INVALID_NUMBER, create=True))
        elif repository.claim_recipient(key, carrier.name, now, CLAIM_STALE_AFTER):
            claimed.append(submission_for(key, number, work.message))
        else:
            # Another run holds a fresh claim, or it waits for a carrier retry: not ours now.
            summary.skipped += 1

    if claimed:
        deadline = now + timedelta(seconds=settings.delivery_timeout_seconds)
        repository.mark_started(job.org_id, job.message_id, now, deadline)
        outcome = record_submissions(
            repository, carrier.submit(claimed), now, settings, attempt=1, carrier=carrier.name
        )
        summary.submitted = len(claimed)
        summary.handed_off = len(outcome.handed_off)
        summary.retrying = outcome.retrying
        failures.extend(outcome.failures)
        done.update(outcome.handed_off)

    if failures:
        repository.apply_transitions(failures)
        summary.failed = len(failures)
        done.update(transition.key.index for transition in failures)

    # The chunk is handed off when none of its recipients still waits on us.
    if work.numbers and len(done) == len(work.numbers):
        repository.mark_chunk_handed_off(job.org_id, job.message_id, job.chunk, now)
    return summary


def submission_for(key: RecipientKey, number: str, message: MessageRecord) -> Submission:
    return Submission(
        reference=key.reference,
        to=number,
        text=message.text,
        sender_id=message.sender_id,
        segments=message.segments,
    )


@dataclass(slots=True)
class SubmissionOutcome:
    handed_off: set[int]
    failures: list[Transition]
    retrying: int


def record_submissions(
    repository: SmsRepository,
    results: Sequence[SubmitResult],
    now: datetime,
    settings: Settings,
    *,
    attempt: int,
    carrier: str = "",
) -> SubmissionOutcome:
    """Accepted recipients are recorded as handed off; rejected ones, and transient failures
    on the last attempt, come back as terminal transitions for the caller to apply together;
    other transient failures wait in the due index for their next attempt.

    A carrier whose receipts name its own ids (``lookup_refs``) gets lookup items first, so a
    receipt arriving right after the hand-off finds the recipient; one that outruns even
    this is parked by the receipts function (DESIGN §2)."""
    outcome = SubmissionOutcome(handed_off=set(), failures=[], retrying=0)
    delays = settings.carrier_retry_delays
    for result in results:
        key = RecipientKey.from_reference(result.reference)
        if key is None:
            continue
        if result.outcome is SubmitOutcome.ACCEPTED:
            if result.lookup_refs and carrier:
                lookup_expires = now + timedelta(seconds=settings.delivery_timeout_seconds) + timedelta(days=1)
                for carrier_ref in result.lookup_refs:
                    repository.link_carrier_ref(carrier, carrier_ref, key, lookup_expires)
            # Applied or not (a receipt may have got there first), the recipient is past us.
            repository.record_handoff(key, result.carrier_ref or result.reference, now)
            outcome.handed_off.add(key.index)
        elif result.outcome is SubmitOutcome.REJECTED:
            outcome.failures.append(Transition(key, SmsStatus.REJECTED, now, error_code=ErrorCode.CARRIER_REJECTED))
        elif attempt < len(delays):
            retry_at = now + timedelta(seconds=delays[attempt] - delays[attempt - 1])
            repository.schedule_retry(key, attempt + 1, retry_at)
            outcome.retrying += 1
        else:
            outcome.failures.append(Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.CARRIER_UNAVAILABLE))
    return outcome
