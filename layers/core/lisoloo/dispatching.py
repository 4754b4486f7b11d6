"""Dispatch: claim one chunk's recipients, submit them to the carrier, record what happened;
and the sweep's carrier retry of one recipient, through the same submit-and-record path.

Safe to run twice for the same job (SQS delivers at least once): each recipient is claimed
by one conditional write before it is submitted, so a redelivered job skips what an earlier
run already submitted, and picks up what a crashed run claimed but never recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lisoloo.analytics import apply_and_count, count_submissions
from lisoloo.carriers import Carrier, Submission, SubmitOutcome
from lisoloo.entities import ChunkWork, MessageRecord, NumberListing, RecipientKey, Transition
from lisoloo.errors import ErrorCode
from lisoloo.models import RESERVED_REFERENCE_PREFIX, DispatchJob
from lisoloo.observability import logger
from lisoloo.phone import is_valid_number
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository

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
    message = repository.messages.get(job.org_id, job.message_id)
    if message is None or not message.released:
        # Cancelled, expired, or a scheduled occurrence the sweep has not released yet.
        logger.info("nothing to dispatch", extra={"message_id": job.message_id, "chunk": job.chunk})
        return summary
    work = repository.recipients.read_chunk(message, job.chunk)

    past_us = work.past_us()
    suppressed = suppressed_in_chunk(repository, work) if not is_consent_reply(message) else set()
    failures: list[Transition] = []
    claimed: list[Submission] = []
    for index in work.indexes:
        number = work.number_of(index)
        if index in past_us:
            summary.skipped += 1
            continue
        key = RecipientKey(job.org_id, job.message_id, index)
        listing = NumberListing(number, message.created_at)
        if index not in work.rows and number in suppressed:
            failures.append(opted_out(key, now, create=True, listing=listing))
        elif index not in work.rows and not is_valid_number(number):
            failures.append(
                Transition(
                    key, SmsStatus.FAILED, now, error_code=ErrorCode.INVALID_NUMBER, create=True, listed_as=listing
                )
            )
        elif repository.recipients.claim(key, carrier.name, now, CLAIM_STALE_AFTER, listing):
            if number in suppressed:  # a crashed run's claim, taken over: ours to fail now
                failures.append(opted_out(key, now, create=False))
            else:
                claimed.append(submission_for(key, number, message))
        else:
            # Another run holds a fresh claim, or it waits for a carrier retry: not ours now.
            summary.skipped += 1

    recorded = set[int]()
    if claimed:
        deadline = now + timedelta(seconds=settings.time.delivery_timeout_seconds)
        repository.messages.mark_started(job.org_id, job.message_id, now, deadline)
        outcome = submit_and_record(repository, carrier, claimed, now, settings, attempt=1)
        count_submissions(repository, message, [submission.to for submission in claimed])
        summary.submitted = len(claimed)
        summary.handed_off = len(outcome.handed_off)
        summary.retrying = outcome.retrying
        failures.extend(outcome.failures)
        recorded = outcome.handed_off
    if failures:
        # Invalid numbers and carrier failures together: one transaction per 99 with the counters.
        apply_and_count(repository, failures)
        summary.failed = len(failures)
        recorded = recorded | {transition.key.index for transition in failures}
    if work.handed_off(recorded):
        repository.messages.mark_chunk_handed_off(job.org_id, job.message_id, job.chunk, now)
    return summary


def suppressed_in_chunk(repository: SmsRepository, work: ChunkWork) -> set[str]:
    """The chunk's numbers on the organization's suppression list (DESIGN §9): one batched read
    per chunk, of the numbers still waiting on us. Read when the chunk is dispatched, not when
    the message was sent, so a STOP that lands while a large send is under way stops every
    chunk not yet dispatched."""
    past_us = work.past_us()
    waiting = [work.number_of(index) for index in work.indexes if index not in past_us]
    return repository.suppressions.suppressed(work.message.org_id, waiting)


def is_consent_reply(message: MessageRecord) -> bool:
    """Lisoloo's own reply to a STOP, START or HELP: it goes to a number that may have just
    opted out, and confirming that is the one message the number may still get."""
    return (message.reference or "").startswith(RESERVED_REFERENCE_PREFIX)


def opted_out(key: RecipientKey, now: datetime, *, create: bool, listing: NumberListing | None = None) -> Transition:
    """A suppressed recipient fails 1406 without a submit, counted like any failure: a new row
    made failed (and listed under its number, as every row dispatch creates), or (``create``
    False) a row this run has just claimed, moved to failed."""
    return Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.OPTED_OUT, create=create, listed_as=listing)


class RetryOutcome(StrEnum):
    RETRIED = "retried"
    NOT_WAITING = "not_waiting"  # a receipt or the deadline finished it: nothing is due any more
    MESSAGE_GONE = "message_gone"


def retry_recipient(
    key: RecipientKey,
    *,
    repository: SmsRepository,
    carrier_for: Callable[[str], Carrier],
    settings: Settings,
    now: datetime,
) -> RetryOutcome:
    """The sweep's carrier retry of one recipient waiting for its next attempt, through the
    same submit-and-record path as dispatch."""
    row = repository.recipients.get(key)
    if row is None or row.status is not SmsStatus.PROCESSING or row.carrier_ref or row.carrier is None:
        return RetryOutcome.NOT_WAITING
    message = repository.messages.get(key.org_id, key.message_id)
    if message is None:
        return RetryOutcome.MESSAGE_GONE
    work = repository.recipients.read_chunk(message, key.chunk)
    number = work.number_of(key.index)
    if not is_consent_reply(message) and repository.suppressions.suppressed(key.org_id, [number]):
        # The number opted out between attempts: no further attempt.
        outcome = SubmissionOutcome(handed_off=set(), failures=[opted_out(key, now, create=False)], retrying=0)
    else:
        submission = submission_for(key, number, message)
        outcome = submit_and_record(
            repository, carrier_for(row.carrier), [submission], now, settings, attempt=row.attempts
        )
    if outcome.failures:
        apply_and_count(repository, outcome.failures)
    if outcome.handed_off or outcome.failures:
        # Read again: other recipients of the chunk may have been retried meanwhile, and the
        # last of them to finish must see them all.
        fresh = repository.recipients.read_chunk(message, key.chunk)
        if fresh.handed_off(set()):
            repository.messages.mark_chunk_handed_off(key.org_id, key.message_id, key.chunk, now)
    return RetryOutcome.RETRIED


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
    # Terminal moves for the caller to apply (with any others it has, in one transaction).
    failures: list[Transition]
    retrying: int


def submit_and_record(
    repository: SmsRepository,
    carrier: Carrier,
    submissions: Sequence[Submission],
    now: datetime,
    settings: Settings,
    *,
    attempt: int,
) -> SubmissionOutcome:
    """Submit to the carrier and record each result: accepted recipients are handed off;
    rejected ones, and transient failures on the last attempt, come back as terminal
    transitions for the caller to apply; other transient failures wait in the due index
    for their next attempt.

    A carrier whose receipts name its own ids (``lookup_refs``) gets lookup items first, so a
    receipt arriving right after the hand-off finds the recipient; one that outruns even
    this is parked by the receipts function (DESIGN §2)."""
    outcome = SubmissionOutcome(handed_off=set(), failures=[], retrying=0)
    delays = settings.time.carrier_retry_delays
    for result in carrier.submit(submissions):
        key = RecipientKey.from_reference(result.reference)
        if key is None:
            continue
        if result.outcome is SubmitOutcome.ACCEPTED:
            if result.lookup_refs:
                lookup_expires = now + timedelta(seconds=settings.time.delivery_timeout_seconds) + timedelta(days=1)
                for carrier_ref in result.lookup_refs:
                    repository.carrier_refs.link(carrier.name, carrier_ref, key, lookup_expires)
            # Applied or not (a receipt may have got there first), the recipient is past us.
            repository.recipients.record_handoff(key, result.carrier_ref or result.reference, now)
            outcome.handed_off.add(key.index)
        elif result.outcome is SubmitOutcome.REJECTED:
            outcome.failures.append(Transition(key, SmsStatus.REJECTED, now, error_code=ErrorCode.CARRIER_REJECTED))
        elif attempt < len(delays):
            retry_at = now + timedelta(seconds=delays[attempt] - delays[attempt - 1])
            repository.recipients.schedule_retry(key, attempt + 1, retry_at)
            outcome.retrying += 1
        else:
            outcome.failures.append(Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.CARRIER_UNAVAILABLE))
    return outcome
