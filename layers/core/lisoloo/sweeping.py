"""The sweep, every minute: do what has come due, and only that (DESIGN §3, §4).

It reads the sparse ``due`` index shard by shard (one Query per shard when nothing is due),
leases each item with a conditional write so overlapping sweeps never do the same work,
and stops taking new work when its time runs short; what it leaves stays due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.analytics import apply_and_count
from lisoloo.breaker import CircuitBreakers
from lisoloo.carriers import Carrier
from lisoloo.deadlines import capped, receipt_deadline, recipient_deadline
from lisoloo.dispatching import RetryOutcome, retry_recipient
from lisoloo.entities import DueItem, DueKind, MessageRecord, NumberListing, RecipientKey, Transition
from lisoloo.errors import ErrorCode
from lisoloo.falling_back import FallbackOutcome, fallback_at_deliver_by, settle_after_deliver_by
from lisoloo.models import dispatch_jobs
from lisoloo.observability import logger, metrics
from lisoloo.queues import JobQueue
from lisoloo.receipts import ParkedOutcome, retry_parked_receipt
from lisoloo.route_quality import review_carriers
from lisoloo.routing import implicit_default_carrier
from lisoloo.scheduling import release_occurrence
from lisoloo.settings import Settings
from lisoloo.settling import settle_unsettled
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.storage.keys import DUE_SHARDS
from lisoloo.submitting import Routing

# Items one Query asks for; a shard with more due work is read again until it is done.
DUE_PAGE = 50
# Stop taking work with this much of the invocation left, so a lease is never cut mid-way.
TIME_RESERVE_SECONDS = 10.0


@dataclass(slots=True)
class SweepSummary:
    released: int = 0
    requeued: int = 0
    timed_out: int = 0
    # Deadlines put off: receipts were still queued, or a recipient's carrier retry is still to come.
    deadlines_deferred: int = 0
    retried: int = 0
    # Recipients sent once more through the next carrier at their deliver-by time.
    fell_back: int = 0
    unparked: int = 0
    # Final messages whose money the table stream had not settled (its record dead-lettered).
    settled: int = 0
    lost_leases: int = 0
    queries: int = 0
    out_of_time: bool = False
    # How long the oldest work this sweep found had been due: the sweep's own lateness.
    lag_seconds: float = 0.0


@dataclass(slots=True)
class Sweeper:
    repository: SmsRepository
    queue: JobQueue
    carrier_for: Callable[[str], Carrier | None]
    settings: Settings
    # Whether carrier receipts are still queued, not yet applied (asked at most once a sweep).
    receipts_waiting: Callable[[], bool]
    # Routes, breakers and pacing for retries; None: the template's carrier as the only route.
    routing: Routing | None = None
    _receipts_queued: bool | None = field(default=None, init=False)

    def sweep(self, now: datetime, seconds_left: Callable[[], float]) -> SweepSummary:
        summary = SweepSummary()
        self._receipts_queued = None
        try:
            self._review_routes(now)
            self._sweep(now, seconds_left, summary)
        finally:
            # A sweep falling behind its work (too much due, or runs that time out) shows here.
            metrics.add_metric(name="SweepLagSeconds", unit=MetricUnit.Seconds, value=summary.lag_seconds)
        return summary

    def _review_routes(self, now: datetime) -> None:
        """Demote or restore carriers on their route quality; a failure here must not keep the
        due work from being done."""
        try:
            review_carriers(self.repository, now)
        except Exception:  # logged and left for the next sweep
            logger.exception("carriers could not be judged on their route quality")

    def _sweep(self, now: datetime, seconds_left: Callable[[], float], summary: SweepSummary) -> None:
        lease_until = now + timedelta(seconds=self.settings.time.sweep_lease_seconds)
        for shard in range(DUE_SHARDS):
            while True:
                items = self.repository.due.find(shard, now, DUE_PAGE)
                summary.queries += 1
                if items:
                    # Oldest first within a shard: the first item is the shard's most overdue.
                    summary.lag_seconds = max(summary.lag_seconds, (now - items[0].due_time).total_seconds())
                for item in items:
                    if seconds_left() < TIME_RESERVE_SECONDS:
                        summary.out_of_time = True
                        return
                    leased = self.repository.due.lease(item, lease_until)
                    if leased is None:
                        summary.lost_leases += 1  # another sweep took it
                        continue
                    self._handle(leased, now, summary)
                if len(items) < DUE_PAGE:
                    break

    def _handle(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        if item.kind is DueKind.RELEASE:
            self._release(item, now, summary)
        elif item.kind is DueKind.DEADLINE:
            self._deadline(item, now, summary)
        elif item.kind is DueKind.DELIVER_BY:
            self._deliver_by(item, now, summary)
        elif item.kind is DueKind.PARKED:
            if retry_parked_receipt(self.repository, item, now, self.settings) is ParkedOutcome.APPLIED:
                summary.unparked += 1
        else:
            self._retry(item, now, summary)

    def _release(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        message = self.repository.messages.get(item.org_id, item.message_id)
        if message is None:
            return
        guard = now + timedelta(seconds=self.settings.time.release_guard_seconds)
        if not message.released:
            release_occurrence(self.repository, self.queue, message, now, self.settings)
            summary.released += 1
            self.repository.due.finish(item, next_due=guard, kind=DueKind.RELEASE)
        elif message.progress.all_terminal:
            self._finish_final(item, message, now, summary)  # final without a claim (every number invalid)
        elif not message.started:
            # Released but never picked up: its jobs may be lost. Queue them again (dispatch
            # claims per recipient, so a duplicate job costs nothing) and, should even that
            # not start it, let the receipt deadline settle it.
            self.queue.enqueue(dispatch_jobs(item.org_id, item.message_id, message.total))
            summary.requeued += 1
            deadline = message.created_at + timedelta(seconds=self.settings.time.delivery_timeout_seconds)
            self.repository.due.finish(item, next_due=max(deadline, guard), kind=DueKind.DEADLINE)
        else:
            self.repository.due.finish(item)

    def _deadline(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        """No final receipt in time: every open recipient whose own deadline has passed fails
        with 1503. Receipts we acknowledged but have not applied yet come first: while any is
        queued the deadline waits (``deadline_receipts_wait_seconds`` at most)."""
        message = self.repository.messages.get(item.org_id, item.message_id)
        if message is None:
            return
        if message.progress.all_terminal:
            self._finish_final(item, message, now, summary)
            return
        time = self.settings.time
        timeout = timedelta(seconds=time.delivery_timeout_seconds)
        numbers, rows = self.repository.recipients.read_all(item.org_id, item.message_id)
        open_recipients = [
            index for index in range(len(numbers)) if index not in rows or not rows[index].status.is_terminal
        ]
        valid_until, grace = message.valid_until, timedelta(seconds=time.validity_receipt_grace_seconds)
        message_deadline = receipt_deadline(message.started_at or message.created_at, timeout, valid_until, grace)
        deadlines = {
            index: capped(
                recipient_deadline(rows.get(index), message_deadline, timeout, time.carrier_retry_delays),
                valid_until,
                grace,
            )
            for index in open_recipients
        }
        receipts_wait = timedelta(seconds=time.deadline_receipts_wait_seconds)

        def passed(deadline: datetime | None) -> bool:
            if deadline is None or deadline > now:
                return False
            return deadline + receipts_wait <= now or not self._receipts_still_queued()

        due: list[int] = []
        # When to look again at each recipient left open: its deadline, or while its carrier
        # retry is still to come (no deadline yet), that retry's time.
        next_looks: list[datetime] = []
        for index, deadline in deadlines.items():
            if passed(deadline):
                due.append(index)
            else:
                next_looks.append(deadline or rows[index].retry_due_at or now)
        if due:
            # Never handed to a carrier and past its validity: expired unsent (DESIGN §12), not a timeout.
            lapsed = valid_until is not None and now >= valid_until
            timeouts = [
                Transition(
                    key=_recipient(item, index),
                    status=SmsStatus.EXPIRED if lapsed and index not in rows else SmsStatus.FAILED,
                    at=now,
                    error_code=ErrorCode.EXPIRED if lapsed and index not in rows else ErrorCode.SMS_TIMEOUT,
                    create=index not in rows,
                    listed_as=NumberListing(numbers[index], message.created_at),
                )
                for index in due
            ]
            # Conditional per recipient: a receipt that lands first wins over the timeout.
            summary.timed_out += len(apply_and_count(self.repository, timeouts).applied)
        if not next_looks:
            if due:
                # Final by these timeouts: the stream settles its money and takes it out of the
                # index; should that record be dead-lettered, this look settles it.
                check_at = now + timedelta(seconds=time.settle_check_seconds)
                self.repository.due.finish(item, next_due=check_at, kind=DueKind.DEADLINE)
            else:
                self.repository.due.finish(item)
            return
        summary.deadlines_deferred += 1
        # A deadline waiting for queued receipts has passed: it is looked at in the next sweep.
        next_due = max(min(next_looks), now + timedelta(seconds=1))
        self.repository.due.finish(item, next_due=next_due, kind=DueKind.DEADLINE)

    def _finish_final(self, item: DueItem, message: MessageRecord, now: datetime, summary: SweepSummary) -> None:
        """A final message leaves the index once its money is settled: by the table stream as a
        rule (which takes it out itself), here when that stream's record never got that far."""
        if settle_unsettled(message, self.repository, now) is not None:
            summary.settled += 1
            logger.warning("settled by the sweep: its stream record failed", extra={"message_id": message.message_id})
        self.repository.due.finish(item)

    def _receipts_still_queued(self) -> bool:
        if self._receipts_queued is None:
            self._receipts_queued = self.receipts_waiting()
        return self._receipts_queued

    def _deliver_by(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        """A recipient's deliver-by time: once more through the next carrier of its route, or
        nothing (the item leaves the index either way: the time is handled once)."""
        outcome = fallback_at_deliver_by(
            item, repository=self.repository, routing=self._routing(), settings=self.settings, now=now
        )
        if outcome is FallbackOutcome.SENT:
            summary.fell_back += 1
        elif outcome is FallbackOutcome.NOT_SENT:
            self.repository.due.finish(item)
            settle_after_deliver_by(self.repository, item.recipient, now)

    def _routing(self) -> Routing:
        if self.routing is None:
            # Built once: its breakers must outlive one retry to mean anything.
            carriers = self.settings.carriers
            self.routing = Routing(
                routes=tuple,
                carrier_for=self.carrier_for,
                default_carrier=implicit_default_carrier(carriers.carrier),
                breakers=CircuitBreakers(carriers.carrier_breaker_failures, carriers.carrier_breaker_cooldown_seconds),
            )
        return self.routing

    def _retry(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        routing = self._routing()
        outcome = retry_recipient(
            item.recipient,
            repository=self.repository,
            routing=routing,
            settings=self.settings,
            now=now,
        )
        if outcome is RetryOutcome.NOT_WAITING:
            self.repository.due.finish(item)
        elif outcome is RetryOutcome.RETRIED:
            summary.retried += 1


def _recipient(item: DueItem, index: int) -> RecipientKey:
    return RecipientKey(item.org_id, item.message_id, index)
