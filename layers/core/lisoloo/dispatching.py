"""Dispatch: claim one chunk's recipients, submit them to the carrier, record what happened;
and the sweep's carrier retry of one recipient, through the same submit-and-record path.

Safe to run twice for the same job (SQS delivers at least once): each recipient is claimed
by one conditional write before it is submitted, so a redelivered job skips what an earlier
run already submitted, and picks up what a crashed run claimed but never recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from lisoloo.analytics import apply_and_count, count_submissions
from lisoloo.carriers import Submission, SubmitOutcome, SubmitResult
from lisoloo.deadlines import receipt_deadline
from lisoloo.entities import ChunkWork, MessageRecord, NumberListing, RecipientKey, RecipientRecord, Transition
from lisoloo.errors import ErrorCode
from lisoloo.models import RESERVED_REFERENCE_PREFIX, DispatchJob
from lisoloo.observability import logger
from lisoloo.opting_out import OptOutLink, token_of
from lisoloo.personalising import render_stored
from lisoloo.phone import is_valid_number
from lisoloo.route_quality import count_handoffs
from lisoloo.routing import plan_routes
from lisoloo.segments import count_segments
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.submitting import Routing

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
    failed_over: int = 0


def dispatch_chunk(
    job: DispatchJob, *, repository: SmsRepository, routing: Routing, settings: Settings, now: datetime
) -> DispatchSummary:
    summary = DispatchSummary()
    message = repository.messages.get(job.org_id, job.message_id)
    if message is None or not message.released:
        # Cancelled, expired, or a scheduled occurrence the sweep has not released yet.
        logger.info("nothing to dispatch", extra={"message_id": job.message_id, "chunk": job.chunk})
        return summary
    work = repository.recipients.read_chunk(message, job.chunk)

    past_us = work.past_us()
    valid_until = message.valid_until
    lapsed = valid_until is not None and now >= valid_until
    suppressed = suppressed_in_chunk(repository, work) if not is_consent_reply(message) else set()
    failures: list[Transition] = []
    candidates: dict[str, tuple[RecipientKey, str]] = {}
    for index in work.indexes:
        number = work.number_of(index)
        if index in past_us:
            summary.skipped += 1
            continue
        key = RecipientKey(job.org_id, job.message_id, index)
        if index not in work.rows and lapsed:
            failures.append(expired(key, now, create=True, listing=NumberListing(number, message.created_at)))
        elif index not in work.rows and number in suppressed:
            failures.append(opted_out(key, now, create=True, listing=NumberListing(number, message.created_at)))
        elif index not in work.rows and not is_valid_number(number):
            failures.append(
                Transition(
                    key,
                    SmsStatus.FAILED,
                    now,
                    error_code=ErrorCode.INVALID_NUMBER,
                    create=True,
                    listed_as=NumberListing(number, message.created_at),
                )
            )
        else:
            candidates[key.reference] = (key, number)

    plan = plan_routes(
        [(reference, number) for reference, (_, number) in candidates.items()],
        routing.routes(),
        job.org_id,
        routing.default_carrier,
    )
    claimed: list[tuple[Submission, tuple[str, ...]]] = []
    pinned: set[str] = set()
    for reference, (key, number) in candidates.items():
        listing = NumberListing(number, message.created_at)
        order = plan.orders.get(reference)
        crashed = work.rows.get(key.index)
        if crashed is not None and crashed.carrier:
            # A crashed run's claim: it may have reached its carrier, so only that one may see it again.
            order = (crashed.carrier,)
            pinned.add(reference)
        elif order is None:
            failures.append(
                Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.NO_ROUTE, create=True, listed_as=listing)
            )
            continue
        else:
            order = routing.usable_first(order)
        submission = submission_for(key, number, message, work.variables_of(key.index), now=now)
        # A personal text's parts go on its row: its receipts are counted against them.
        parts = submission.segments if work.variables is not None else None
        if repository.recipients.claim(key, order[0], now, CLAIM_STALE_AFTER, listing, segments=parts):
            if number in suppressed:  # a crashed run's claim, taken over: ours to fail now
                failures.append(opted_out(key, now, create=False))
            elif lapsed:  # likewise, its validity ended since: not worth sending any more
                failures.append(expired(key, now, create=False))
            else:
                expires_at = now + settings.time.message_lifetime
                link_opt_out(repository, key, number, message, work.variables_of(key.index), expires_at)
                claimed.append((submission, order))
        else:
            # Another run holds a fresh claim, or it waits for a carrier retry: not ours now.
            summary.skipped += 1

    recorded = set[int]()
    if claimed:
        time = settings.time
        deadline = receipt_deadline(
            now,
            timedelta(seconds=time.delivery_timeout_seconds),
            valid_until,
            timedelta(seconds=time.validity_receipt_grace_seconds),
        )
        repository.messages.mark_started(job.org_id, job.message_id, now, deadline)
        outcome = submit_routed(
            repository,
            routing,
            claimed,
            now,
            settings,
            attempt=1,
            pinned=pinned,
            valid_until=valid_until,
            deliver_within=message.deliver_within,
        )
        count_submissions(repository, message, [submission.to for submission, _ in claimed])
        summary.submitted = len(claimed)
        summary.handed_off = len(outcome.handed_off)
        summary.retrying = outcome.retrying
        summary.failed_over = outcome.failed_over
        failures.extend(outcome.failures)
        recorded = outcome.handed_off
    if failures:
        # Invalid numbers and carrier failures together: one transaction per 99 with the counters.
        apply_and_count(repository, failures, held=work)
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


def link_opt_out(
    repository: SmsRepository,
    key: RecipientKey,
    number: str,
    message: MessageRecord,
    values: Mapping[str, str] | None,
    expires_at: datetime,
) -> None:
    """A recipient whose text carries an opt-out link: its lookup, before the text can reach
    the handset (a claim taken over after a crash writes it again, the same); it lives as long
    as a message sent now is kept."""
    token = token_of(values)
    if token is not None:
        link = OptOutLink(token, key.org_id, number, key.message_id, message.sender_id)
        repository.opt_outs.link(link, expires_at)


def is_consent_reply(message: MessageRecord) -> bool:
    """Lisoloo's own reply to a STOP, START or HELP: it goes to a number that may have just
    opted out, and confirming that is the one message the number may still get."""
    return (message.reference or "").startswith(RESERVED_REFERENCE_PREFIX)


def opted_out(key: RecipientKey, now: datetime, *, create: bool, listing: NumberListing | None = None) -> Transition:
    """A suppressed recipient fails 1406 without a submit, counted like any failure: a new row
    made failed (and listed under its number, as every row dispatch creates), or (``create``
    False) a row this run has just claimed, moved to failed."""
    return Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.OPTED_OUT, create=create, listed_as=listing)


def expired(key: RecipientKey, now: datetime, *, create: bool, listing: NumberListing | None = None) -> Transition:
    """A recipient its message's validity period ran out on before a carrier took it: 1403,
    never submitted (DESIGN §12)."""
    return Transition(key, SmsStatus.EXPIRED, now, error_code=ErrorCode.EXPIRED, create=create, listed_as=listing)


class RetryOutcome(StrEnum):
    RETRIED = "retried"
    NOT_WAITING = "not_waiting"  # a receipt or the deadline finished it: nothing is due any more
    MESSAGE_GONE = "message_gone"


def retry_recipient(
    key: RecipientKey,
    *,
    repository: SmsRepository,
    routing: Routing,
    settings: Settings,
    now: datetime,
) -> RetryOutcome:
    """The sweep's carrier retry of one recipient waiting for its next attempt, through the
    same submit-and-record path as dispatch: over its route again, or, after an uncertain
    outcome, to that carrier only."""
    row = repository.recipients.get(key)
    if row is None or row.status is not SmsStatus.PROCESSING or row.carrier_ref or row.carrier is None:
        return RetryOutcome.NOT_WAITING
    message = repository.messages.get(key.org_id, key.message_id)
    if message is None:
        return RetryOutcome.MESSAGE_GONE
    work = repository.recipients.read_chunk(message, key.chunk)
    number = work.number_of(key.index)
    valid_until = message.valid_until
    if valid_until is not None and now >= valid_until:
        # Its validity ended while it waited for this attempt: not worth sending any more.
        outcome = SubmissionOutcome(failures=[expired(key, now, create=False)])
    elif not is_consent_reply(message) and repository.suppressions.suppressed(key.org_id, [number]):
        # The number opted out between attempts: no further attempt.
        outcome = SubmissionOutcome(failures=[opted_out(key, now, create=False)])
    else:
        submission = submission_for(key, number, message, work.variables_of(key.index), now=now)
        outcome = _retry_over_route(
            repository, routing, key, submission, row, row.carrier, now, settings, valid_until, message.deliver_within
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


def _retry_over_route(
    repository: SmsRepository,
    routing: Routing,
    key: RecipientKey,
    submission: Submission,
    row: RecipientRecord,
    carrier: str,
    now: datetime,
    settings: Settings,
    valid_until: datetime | None,
    deliver_within: int | None = None,
) -> SubmissionOutcome:
    """Over the route again, or, after an uncertain outcome, to that carrier only (``carrier``
    is the one the row has now)."""
    pinned: set[str] = set()
    if row.retry_carrier:
        order: tuple[str, ...] = (row.retry_carrier,)
        pinned.add(key.reference)
    else:
        plan = plan_routes([(key.reference, submission.to)], routing.routes(), key.org_id, routing.default_carrier)
        # A route removed since the first attempt: the carrier it had keeps the recipient.
        order = routing.usable_first(plan.orders.get(key.reference, (carrier,)))
        if order[0] != carrier:
            repository.recipients.reassign(key, order[0], now)
    return submit_routed(
        repository,
        routing,
        [(submission, order)],
        now,
        settings,
        attempt=row.attempts,
        pinned=pinned,
        valid_until=valid_until,
        deliver_within=deliver_within,
    )


def submission_for(
    key: RecipientKey,
    number: str,
    message: MessageRecord,
    values: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> Submission:
    """What the carrier gets: the recipient's own text (DESIGN §12), its parts, and what is left
    of its validity period at ``now``."""
    valid_until = message.valid_until
    validity = None
    if valid_until is not None and now is not None:
        validity = max(1, math.ceil((valid_until - now).total_seconds()))
    if not values:
        text, segments = message.text, message.segments
    else:
        text = render_stored(message.text, values)
        segments = count_segments(text).segments
    return Submission(
        reference=key.reference,
        to=number,
        text=text,
        sender_id=message.sender_id,
        segments=segments,
        validity_seconds=validity,
    )


@dataclass(slots=True)
class SubmissionOutcome:
    handed_off: set[int] = field(default_factory=set)
    # Terminal moves for the caller to apply (with any others it has, in one transaction).
    failures: list[Transition] = field(default_factory=list)
    retrying: int = 0
    # Recipients sent on to the next carrier of their route after a definite refusal.
    failed_over: int = 0
    # (carrier, number) of each recipient a carrier took, and did not take, for route quality.
    taken: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def submit_routed(
    repository: SmsRepository,
    routing: Routing,
    work: Sequence[tuple[Submission, tuple[str, ...]]],
    now: datetime,
    settings: Settings,
    *,
    attempt: int,
    pinned: set[str] | None = None,
    valid_until: datetime | None = None,
    deliver_within: int | None = None,
) -> SubmissionOutcome:
    """Submit each recipient to the carriers of its route, in order, grouped per carrier, and
    record each result (DESIGN §8):

    * accepted: handed off, with the carrier that took it;
    * rejected (the message itself refused): terminal, for the caller to apply;
    * definitely not taken (``TRANSIENT``; or the carrier is disabled, unknown, or its breaker
      open, and is not asked at all): on to the next carrier of the route, in this attempt;
    * uncertain (sent, no answer): the next attempt goes to this carrier only, with the same
      reference, and so does every later one (``pinned``: references whose order is that one
      carrier), so no recipient can ever be taken by two carriers;
    * refused by every carrier of its route: the retry schedule (``CARRIER_RETRY_DELAYS``),
      or 1502 after the last attempt.
    """
    outcome = SubmissionOutcome()
    started = routing.clock()
    orders = {submission.reference: order for submission, order in work}
    tried: dict[str, int] = {}  # how far along its order each recipient is
    waiting: dict[str, list[Submission]] = {}
    for submission, order in work:
        tried[submission.reference] = 0
        waiting.setdefault(order[0], []).append(submission)
    while waiting:
        carrier_name = next(iter(waiting))
        batch = waiting.pop(carrier_name)
        for submission, (result, answered) in zip(batch, routing.submit_timed(carrier_name, batch), strict=True):
            key = RecipientKey.from_reference(submission.reference)
            if key is None:
                continue
            if result.outcome is SubmitOutcome.ACCEPTED:
                order, position = orders[submission.reference], tried[submission.reference]
                # Deliver-by is armed only where it can do something: a next carrier in the
                # route, and one part (two legs' part receipts would mix on the row's counts).
                arm = deliver_within is not None and position + 1 < len(order) and submission.segments == 1
                deliver_by_at = now + timedelta(seconds=deliver_within) if arm and deliver_within else None
                # Its own hand-off time (route quality's receipt latency counts from it), not
                # the run's start: pacing and failover may have held it for seconds.
                taken_at = now + timedelta(seconds=answered - started)
                _record_acceptance(repository, carrier_name, key, result, taken_at, settings, deliver_by_at)
                outcome.handed_off.add(key.index)
                outcome.taken.append((carrier_name, submission.to))
            elif result.outcome is SubmitOutcome.REJECTED:
                outcome.failures.append(Transition(key, SmsStatus.REJECTED, now, error_code=ErrorCode.CARRIER_REJECTED))
            elif result.outcome.may_fail_over and tried[submission.reference] + 1 < len(orders[submission.reference]):
                outcome.refused.append((carrier_name, submission.to))
                tried[submission.reference] += 1
                following = orders[submission.reference][tried[submission.reference]]
                # Before the submit, so the new carrier's receipts are accepted for it.
                if repository.recipients.reassign(key, following, now):
                    waiting.setdefault(following, []).append(submission)
                    outcome.failed_over += 1
            else:
                outcome.refused.append((carrier_name, submission.to))
                uncertain = result.outcome is SubmitOutcome.UNCERTAIN or submission.reference in (pinned or ())
                pin = carrier_name if uncertain else None
                _retry_or_fail(repository, key, attempt, pin, now, settings, outcome, valid_until)
    count_handoffs(repository, outcome.taken, outcome.refused, now)
    return outcome


def _record_acceptance(
    repository: SmsRepository,
    carrier: str,
    key: RecipientKey,
    result: SubmitResult,
    now: datetime,
    settings: Settings,
    deliver_by_at: datetime | None = None,
) -> None:
    """A carrier whose receipts name its own ids (``lookup_refs``) gets lookup items first, so
    a receipt arriving right after the hand-off finds the recipient; one that outruns even
    this is parked by the receipts function (DESIGN §2)."""
    if result.lookup_refs:
        lookup_expires = now + timedelta(seconds=settings.time.delivery_timeout_seconds) + timedelta(days=1)
        for carrier_ref in result.lookup_refs:
            repository.carrier_refs.link(carrier, carrier_ref, key, lookup_expires)
    # Applied or not (a receipt may have got there first), the recipient is past us.
    repository.recipients.record_handoff(
        key, result.carrier_ref or result.reference, now, carrier, deliver_by_at=deliver_by_at
    )


def _retry_or_fail(
    repository: SmsRepository,
    key: RecipientKey,
    attempt: int,
    pin: str | None,
    now: datetime,
    settings: Settings,
    outcome: SubmissionOutcome,
    valid_until: datetime | None,
) -> None:
    delays = settings.time.carrier_retry_delays
    if attempt < len(delays):
        retry_at = now + timedelta(seconds=delays[attempt] - delays[attempt - 1])
        if valid_until is not None:
            # Due no later than the validity's end, when the retry finds it expired (DESIGN §12).
            retry_at = min(retry_at, max(valid_until, now))
        repository.recipients.schedule_retry(key, attempt + 1, retry_at, only_carrier=pin)
        outcome.retrying += 1
    else:
        outcome.failures.append(Transition(key, SmsStatus.FAILED, now, error_code=ErrorCode.CARRIER_UNAVAILABLE))
