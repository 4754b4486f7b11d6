"""The sweep, every minute: do what has come due, and only that (DESIGN §3, §4).

It reads the sparse ``due`` index shard by shard (one Query per shard when nothing is due),
leases each item with a conditional write so overlapping sweeps never do the same work,
and stops taking new work when its time runs short; what it leaves stays due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lisoloo.carriers import Carrier
from lisoloo.dispatching import RetryOutcome, retry_recipient
from lisoloo.entities import DueItem, DueKind, RecipientKey, Transition
from lisoloo.errors import ErrorCode
from lisoloo.models import dispatch_jobs
from lisoloo.queues import JobQueue
from lisoloo.receipts import ParkedOutcome, retry_parked_receipt
from lisoloo.scheduling import release_occurrence
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.storage.keys import DUE_SHARDS

# Items one Query asks for; a shard with more due work is read again until it is done.
DUE_PAGE = 50
# Stop taking work with this much of the invocation left, so a lease is never cut mid-way.
TIME_RESERVE_SECONDS = 10.0


@dataclass(slots=True)
class SweepSummary:
    released: int = 0
    requeued: int = 0
    timed_out: int = 0
    retried: int = 0
    unparked: int = 0
    lost_leases: int = 0
    queries: int = 0
    out_of_time: bool = False


@dataclass(frozen=True, slots=True)
class Sweeper:
    repository: SmsRepository
    queue: JobQueue
    carrier_for: Callable[[str], Carrier]
    settings: Settings

    def sweep(self, now: datetime, seconds_left: Callable[[], float]) -> SweepSummary:
        summary = SweepSummary()
        lease_until = now + timedelta(seconds=self.settings.time.sweep_lease_seconds)
        for shard in range(DUE_SHARDS):
            while True:
                items = self.repository.due.find(shard, now, DUE_PAGE)
                summary.queries += 1
                for item in items:
                    if seconds_left() < TIME_RESERVE_SECONDS:
                        summary.out_of_time = True
                        return summary
                    leased = self.repository.due.lease(item, lease_until)
                    if leased is None:
                        summary.lost_leases += 1  # another sweep took it
                        continue
                    self._handle(leased, now, summary)
                if len(items) < DUE_PAGE:
                    break
        return summary

    def _handle(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        if item.kind is DueKind.RELEASE:
            self._release(item, now, summary)
        elif item.kind is DueKind.DEADLINE:
            self._deadline(item, now, summary)
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
            self.repository.due.finish(item)  # settled without a claim (every number invalid)
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
        """24 h without a final receipt: every recipient not yet terminal fails with 1503."""
        message = self.repository.messages.get(item.org_id, item.message_id)
        if message is None:
            return
        if not message.progress.all_terminal:
            numbers, rows = self.repository.recipients.read_all(item.org_id, item.message_id)
            timeouts = [
                Transition(
                    key=_recipient(item, index),
                    status=SmsStatus.FAILED,
                    at=now,
                    error_code=ErrorCode.SMS_TIMEOUT,
                    create=index not in rows,
                )
                for index in range(len(numbers))
                if index not in rows or not rows[index].status.is_terminal
            ]
            # Conditional per recipient: a receipt that lands first wins over the timeout.
            outcome = self.repository.recipients.apply_transitions(timeouts)
            summary.timed_out += len(outcome.applied)
        self.repository.due.finish(item)

    def _retry(self, item: DueItem, now: datetime, summary: SweepSummary) -> None:
        outcome = retry_recipient(
            item.recipient,
            repository=self.repository,
            carrier_for=self.carrier_for,
            settings=self.settings,
            now=now,
        )
        if outcome is RetryOutcome.NOT_WAITING:
            self.repository.due.finish(item)
        elif outcome is RetryOutcome.RETRIED:
            summary.retried += 1


def _recipient(item: DueItem, index: int) -> RecipientKey:
    return RecipientKey(item.org_id, item.message_id, index)
