"""A hypothesis state machine over the real handlers on moto: random interleavings of sends,
dispatch batches (with SQS redelivering the same records), receipts (duplicated, out of order,
for unknown references, per part, racing the submit response), sweeps that move time forward,
schedule cancellations, and crashes injected at random points inside a batch followed by
redelivery.

After every step it checks what merchants rely on:

* each message's ``delivered``/``failed``/``pending`` equal a recount of its recipients, and add
  up to ``total_recipients``; the aggregate is final exactly when nothing is pending;
* a recipient's final state never changes, and the aggregate only moves forward;
* the carrier never received the same recipient twice for one attempt, unless the step that
  sent it first crashed before recording the outcome (the at-least-once hand-off that a
  carrier drops by our reference), and never received a recipient already final;
* the webhook events derived from successive reads of the message item form a valid sequence
  (``sms.queued`` once and first, sequence numbers rising, nothing after a final event).

At the end of every run (``teardown``) the faults stop, every job and receipt is redelivered,
and time moves past the 24-hour deadline: then every message must be final. Nothing is lost.

``make test`` runs a few examples; ``make fuzz`` many (``LISOLOO_STATEFUL_EXAMPLES``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lisoloo import dependencies, dispatching
from lisoloo.carriers import CarrierReceipt, ReceiptRequest, Submission, SubmitOutcome, SubmitResult
from lisoloo.entities import MessageRecord, RecipientKey
from lisoloo.identifiers import new_message_id
from lisoloo.observability import metrics
from lisoloo.receipts import apply_carrier_receipts
from lisoloo.settings import get_settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.sweeping import Sweeper
from lisoloo.webhooks.events import QUEUED, SEQUENCE, events_for_change
from tests.integration.conftest import Harness, Merchant, load_function
from tests.reliability.faults import CallFaults, InjectedFault, LambdaCrash

# make test: a fixed, small set of runs (derandomized, so its time is stable); make fuzz sets
# LISOLOO_STATEFUL_EXAMPLES for many random ones.
FUZZING = "LISOLOO_STATEFUL_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("LISOLOO_STATEFUL_EXAMPLES", "4"))
STEPS = int(os.environ.get("LISOLOO_STATEFUL_STEPS", "25"))

NORMAL, NORMAL_2 = "+254712345678", "+254712345679"
REJECTED_AT_SUBMIT = "+254712340002"
TWO_TRANSIENT_FAILURES = "+254712340005"
ALWAYS_TRANSIENT = "+254712340006"
RECEIPT_BEFORE_REPLY = "+254712340009"
INVALID = "+254000000000"
NUMBERS = [
    NORMAL,
    NORMAL_2,
    REJECTED_AT_SUBMIT,
    TWO_TRANSIENT_FAILURES,
    ALWAYS_TRANSIENT,
    RECEIPT_BEFORE_REPLY,
    INVALID,
]

RECEIPT_STATES = [status.value for status in SmsStatus]
FINAL_PART_STATES = [status.value for status in SmsStatus if status.is_terminal]
HANDED_OFF = {"accepted", "enroute", "sent"}
AGGREGATE_RANK = {"scheduled": 0, "pending": 1, "processing": 2, "sent": 3, "delivered": 4, "failed": 4}
# Steps of the sweep's clock: past a lease, past the first and second carrier retries, past the deadline.
CLOCK_STEPS = [timedelta(minutes=3), timedelta(minutes=61), timedelta(hours=4, minutes=1), timedelta(hours=25)]
LONG_TEXT = "Your parcel is on its way. " * 8  # 216 GSM-7 characters: two parts


@dataclass
class Sent:
    """A submission the carrier saw: our reference, the attempt the row was at, and the step."""

    reference: str
    attempt: int
    step: int
    status_before: SmsStatus | None


@dataclass
class RecordingCarrier:
    """Like the sandbox, decided by the number, but in-process: remembers every submission with
    the attempt it belongs to, can crash after ``crash_after`` more submissions, and for
    ``…0009`` posts the ``delivered`` receipt through the receipts handler before it answers."""

    harness: Harness
    rows: SmsRepository
    name: str = "sandbox"
    receipt_acknowledgement: str | None = None
    sent: list[Sent] = field(default_factory=list)
    step: int = 0
    crash_after: int | None = None
    crash: type[BaseException] = InjectedFault
    crashed: bool = False

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        results = []
        for submission in submissions:
            if self.crash_after is not None:
                if self.crash_after == 0:
                    self.crashed = True
                    raise self.crash("the function died while the carrier answered")
                self.crash_after -= 1
            key = RecipientKey.from_reference(submission.reference)
            assert key is not None
            row = self.rows.recipients.get(key)
            attempt = row.attempts if row else 0
            self.sent.append(Sent(submission.reference, attempt, self.step, row.status if row else None))
            number = submission.to
            if number == REJECTED_AT_SUBMIT:
                results.append(SubmitResult(submission.reference, SubmitOutcome.REJECTED, error_code="REJECTD"))
            elif number == ALWAYS_TRANSIENT or (number == TWO_TRANSIENT_FAILURES and attempt <= 2):
                results.append(SubmitResult(submission.reference, SubmitOutcome.TRANSIENT))
            else:
                if number == RECEIPT_BEFORE_REPLY:
                    # The SMPP race: the receipt lands before dispatch records the hand-off.
                    self.harness.receipt(submission.reference, "delivered")
                results.append(SubmitResult(submission.reference, SubmitOutcome.ACCEPTED, submission.reference))
        return results

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        raise AssertionError("receipts go through the real sandbox connector")


@dataclass
class Tracked:
    message_id: str
    numbers: list[str]
    segments: int
    schedule_id: str | None = None
    removed: bool = False
    record: MessageRecord | None = None
    events: list[str] = field(default_factory=list)
    rank: int = 0
    final_rows: dict[int, tuple[str, int | None]] = field(default_factory=dict)


FAULTS = st.sampled_from(["none", "none", "none", "storage-error", "storage-crash", "carrier-error", "carrier-crash"])


class Lifecycle(RuleBasedStateMachine):
    harness: Harness
    carrier_slot: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        harness = self.harness
        harness.wipe_table()
        from lisoloo_admin.provisioning import register_carrier

        harness.carrier_token = register_carrier(harness.repository(), "sandbox")
        harness.queued_jobs()
        self.rows = harness.repository()
        self.merchant: Merchant = harness.new_merchant()
        self.stranger: Merchant = harness.new_merchant()
        self.carrier = RecordingCarrier(harness, self.rows)
        self.carrier_slot["carrier"] = self.carrier
        self.faults = self.carrier_slot["faults"]
        self.messages: dict[str, Tracked] = {}
        self.schedules: list[str] = []
        self.sends = 0
        self.waiting_jobs: list[dict[str, Any]] = []  # received, not yet acknowledged
        self.done_jobs: list[dict[str, Any]] = []  # acknowledged (SQS may still deliver them again)
        self.unacknowledged_receipts: list[tuple[str, str]] = []
        self.clock = datetime.now(UTC)
        self.step = 0
        self.crashed_steps: set[int] = set()

    # --- helpers -----------------------------------------------------------------------------

    def _begin(self) -> None:
        self.step += 1
        self.carrier.step = self.step

    def _inject(self, fault: str, after: int) -> None:
        if fault == "storage-error":
            self.faults.arm(after)
        elif fault == "storage-crash":
            self.faults.arm(after, crash=True)
        elif fault == "carrier-error":
            self.carrier.crash_after, self.carrier.crash = after, InjectedFault
        elif fault == "carrier-crash":
            self.carrier.crash_after, self.carrier.crash = after, LambdaCrash

    def _stop_faults(self) -> bool:
        fired = self.faults.fired > 0 or self.carrier.crashed
        self.faults.disarm()
        self.faults.fired = 0
        self.carrier.crash_after, self.carrier.crashed = None, False
        if fired:
            self.crashed_steps.add(self.step)
        return fired

    def _live(self) -> list[Tracked]:
        return [tracked for tracked in self.messages.values() if not tracked.removed]

    def _pick(self, choice: int) -> Tracked:
        live = self._live() or list(self.messages.values())  # all cancelled: a removed one then
        return live[choice % len(live)]

    def _learn_occurrences(self) -> None:
        for schedule_id in self.schedules:
            schedule = self.rows.schedules.get(self.merchant.org_id, schedule_id)
            if schedule is None:
                continue
            for message_id in schedule.occurrence_ids:
                if message_id not in self.messages:
                    first = next(t for t in self.messages.values() if t.schedule_id == schedule_id)
                    self.messages[message_id] = Tracked(message_id, first.numbers, first.segments, schedule_id)

    def _dispatch(self, jobs: list[dict[str, Any]]) -> set[str]:
        """Runs dispatch on the jobs; returns the SQS message ids it reported as failed."""
        try:
            response = self.harness.dispatch(jobs)
        except BatchProcessingError:
            return {job["MessageId"] for job in jobs}
        except LambdaCrash:
            return {job["MessageId"] for job in jobs}
        return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}

    def _sweep(self) -> None:
        """The sweep as its handler runs it (metrics flushed after, as ``log_metrics`` would)."""
        try:
            Sweeper(
                repository=dependencies.repository(),
                queue=dependencies.dispatch_queue(),
                carrier_for=lambda name: self.carrier,
                settings=get_settings(),
                receipts_waiting=dependencies.receipts_queue().holds_jobs,
            ).sweep(self.clock, lambda: 900.0)
        finally:
            metrics.clear_metrics()

    # --- rules ------------------------------------------------------------------------------

    @initialize()
    def first_send(self) -> None:
        """Every run starts with a message going out now, so the rules have something to act on."""
        self.send([NORMAL, REJECTED_AT_SUBMIT, RECEIPT_BEFORE_REPLY], long_text=False, schedule="now")

    @precondition(lambda self: self.sends < 3)
    @rule(
        numbers=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3, unique=True),
        long_text=st.booleans(),
        schedule=st.sampled_from(["now", "now", "dates", "recurring"]),
    )
    def send(self, numbers: list[str], long_text: bool, schedule: str) -> None:
        self._begin()
        self.sends += 1
        body: dict[str, Any] = {"to": numbers, "message": LONG_TEXT if long_text else "Hello"}
        if schedule == "dates":
            body["scheduled_dates"] = [(datetime.now(UTC) + timedelta(hours=1)).isoformat()]
        elif schedule == "recurring":
            body["recurring_schedule"] = {"cron": "*/30 * * * *", "timezone": "UTC", "max_occurrences": 2}
        code, reply = self.harness.send(self.merchant, body)
        assert code == 200, reply
        data = reply["data"]
        tracked = Tracked(data["message_id"], numbers, data["segments"], data.get("schedule_id"))
        self.messages[tracked.message_id] = tracked
        if tracked.schedule_id:
            self.schedules.append(tracked.schedule_id)
            for occurrence in data["occurrences"]:
                self.messages.setdefault(
                    occurrence["message_id"],
                    Tracked(occurrence["message_id"], numbers, data["segments"], tracked.schedule_id),
                )

    @rule()
    def receive_jobs(self) -> None:
        self._begin()
        self.waiting_jobs.extend(self.harness.queued_jobs())

    @rule(
        picks=st.lists(st.integers(0, 50), min_size=1, max_size=3),
        duplicate=st.booleans(),
        fault=FAULTS,
        after=st.integers(0, 6),
    )
    def dispatch_batch(self, picks: list[int], duplicate: bool, fault: str, after: int) -> None:
        """One Lambda invocation on a batch of received jobs; ``duplicate`` adds a job that was
        already acknowledged (SQS delivers at least once)."""
        self._begin()
        if not (self.waiting_jobs or self.done_jobs):
            return
        batch: list[dict[str, Any]] = []
        if self.waiting_jobs:
            batch = list(
                {id(job): job for job in (self.waiting_jobs[p % len(self.waiting_jobs)] for p in picks)}.values()
            )
        if (duplicate or not batch) and self.done_jobs:
            batch.append(self.done_jobs[picks[0] % len(self.done_jobs)])
        self._inject(fault, after)
        try:
            failed = self._dispatch(batch)
        finally:
            self._stop_faults()
        for job in batch:
            if job["MessageId"] not in failed and job in self.waiting_jobs:
                self.waiting_jobs.remove(job)
                self.done_jobs.append(job)

    @precondition(lambda self: self.sends)
    @rule(choice=st.integers(0, 50), index=st.integers(0, 3), status=st.sampled_from(RECEIPT_STATES))
    def receipt(self, choice: int, index: int, status: str) -> None:
        """A receipt for a recipient (index 3 is past every message: an unknown reference)."""
        self._begin()
        reference = RecipientKey(self.merchant.org_id, self._pick(choice).message_id, index).reference
        self._post_receipt(reference, status)

    @precondition(lambda self: any(tracked.final_rows for tracked in self.messages.values()))
    @rule(choice=st.integers(0, 50), status=st.sampled_from(FINAL_PART_STATES), times=st.integers(1, 3))
    def receipt_for_a_final_recipient(self, choice: int, status: str, times: int) -> None:
        """A carrier re-sending, or contradicting, the receipt of a recipient already final (the
        storm every SMPP carrier produces): answered 200, applied to nothing."""
        self._begin()
        finals = [(t, index) for t in self._live() for index in sorted(t.final_rows)]
        if not finals:
            return
        tracked, index = finals[choice % len(finals)]
        reference = RecipientKey(self.merchant.org_id, tracked.message_id, index).reference
        for _ in range(times):
            code, reply = self.harness.receipt(reference, status)
            assert code == 200, reply
            assert reply["data"]["applied"] == 0, f"a {status} receipt moved final recipient {reference}"

    @precondition(lambda self: self.sends)
    @rule(
        choice=st.integers(0, 50), status=st.sampled_from(RECEIPT_STATES), whose=st.sampled_from(["stranger", "nobody"])
    )
    def receipt_for_someone_else(self, choice: int, status: str, whose: str) -> None:
        self._begin()
        message_id = self._pick(choice).message_id if whose == "stranger" else "0" * 24
        self._post_receipt(RecipientKey(self.stranger.org_id, message_id, 0).reference, status)

    @precondition(lambda self: self.sends)
    @rule(
        choice=st.integers(0, 50),
        index=st.integers(0, 2),
        status=st.sampled_from(FINAL_PART_STATES),
        unknown=st.integers(1, 300),
        shape=st.sampled_from(["no-such-message", "past-the-end", "not-canonical", "poison", "stranger"]),
        position=st.integers(0, 300),
    )
    def flood_of_unknown_receipts(
        self, choice: int, index: int, status: str, unknown: int, shape: str, position: int
    ) -> None:
        """Issue 14: one carrier POST of references that name nobody, a real receipt among them.
        The real one is applied as if it came alone; nothing else moves."""
        self._begin()
        tracked = self._pick(choice)
        real = RecipientKey(self.merchant.org_id, tracked.message_id, index).reference
        made_up = {
            "no-such-message": lambda n: RecipientKey(self.merchant.org_id, new_message_id(), n % 10_000).reference,
            "past-the-end": lambda n: RecipientKey(self.merchant.org_id, tracked.message_id, 3 + n).reference,
            "not-canonical": lambda n: f"{self.merchant.org_id}.{tracked.message_id}.{n % 3:0{2 + n % 3}d}",
            "poison": lambda n: f"{self.merchant.org_id}.{tracked.message_id}.{'1' * (5 + n)}",
            "stranger": lambda n: RecipientKey(self.stranger.org_id, tracked.message_id, n % 3).reference,
        }[shape]
        references = [made_up(n) for n in range(unknown)]
        references.insert(position % (unknown + 1), real)
        self.harness.apply_queued_receipts()  # whatever earlier steps left queued, applied first
        before = self._rows()
        code, reply, _ = self.harness.api(
            "receipts",
            "receipts-sandbox",
            None,
            body=[{"carrier_ref": reference, "status": status} for reference in references],
            headers={"x-carrier-token": self.harness.carrier_token},
        )
        assert code == 200, reply
        after = self._rows()
        moved = {row for row in after if after[row] != before.get(row)}
        assert moved <= {(tracked.message_id, index)}, f"a flood of {shape} references moved {moved}"
        assert reply["data"]["applied"] == len(moved)
        if before.get((tracked.message_id, index)) in HANDED_OFF:
            # Handed to the carrier and not final: its final receipt moves it, flood or not.
            assert after[(tracked.message_id, index)] == status, f"the real receipt among {shape} was lost"

    def _rows(self) -> dict[tuple[str, int], str]:
        rows = {}
        for tracked in self._live():
            code, body = self.harness.status(self.merchant, tracked.message_id)
            if code == 200:
                for index, recipient in enumerate(body["data"]["recipients"]):
                    rows[(tracked.message_id, index)] = recipient["status"]
        return rows

    def _post_receipt(self, reference: str, status: str, fault: str = "none", after: int = 0) -> None:
        self._inject(fault, after)
        try:
            code, _ = self.harness.receipt(reference, status)
        except LambdaCrash:
            code = 502
        finally:
            self._stop_faults()
        if code != 200:
            self.unacknowledged_receipts.append((reference, status))  # the carrier tries again

    @precondition(lambda self: self.sends)
    @rule(
        choice=st.integers(0, 50),
        index=st.integers(0, 2),
        status=st.sampled_from(RECEIPT_STATES),
        fault=st.sampled_from(["storage-error", "storage-crash"]),
        after=st.integers(0, 2),
    )
    def receipt_that_crashes(self, choice: int, index: int, status: str, fault: str, after: int) -> None:
        self._begin()
        reference = RecipientKey(self.merchant.org_id, self._pick(choice).message_id, index).reference
        self._post_receipt(reference, status, fault, after)

    @precondition(lambda self: self.sends)
    @rule(
        choice=st.integers(0, 50),
        index=st.integers(0, 2),
        part=st.integers(1, 2),
        status=st.sampled_from(FINAL_PART_STATES),
        fault=st.sampled_from(["none", "none", "storage-error"]),
        after=st.integers(0, 1),
    )
    def part_receipt(self, choice: int, index: int, part: int, status: str, fault: str, after: int) -> None:
        """A final receipt for one part of a two-part text (carriers that report per part)."""
        self._begin()
        candidates = [t for t in self._live() if t.segments > 1]
        if not candidates:
            return
        tracked = candidates[choice % len(candidates)]
        receipt = CarrierReceipt(
            carrier_ref=RecipientKey(self.merchant.org_id, tracked.message_id, index).reference,
            status=SmsStatus(status),
            part=str(part),
        )
        self._inject(fault, after)
        try:
            apply_carrier_receipts(dependencies.repository(), "sandbox", [receipt], datetime.now(UTC), get_settings())
        except (InjectedFault, LambdaCrash):
            self.unacknowledged_receipts.append((receipt.carrier_ref, f"part:{part}:{status}"))
        finally:
            self._stop_faults()
            metrics.clear_metrics()  # called outside a handler: nothing flushes them

    @rule(choice=st.integers(0, 50))
    def carrier_retries_a_receipt(self, choice: int) -> None:
        self._begin()
        if not self.unacknowledged_receipts:
            return
        reference, status = self.unacknowledged_receipts.pop(choice % len(self.unacknowledged_receipts))
        if status.startswith("part:"):
            _, part, final = status.split(":")
            receipt = CarrierReceipt(carrier_ref=reference, status=SmsStatus(final), part=part)
            apply_carrier_receipts(dependencies.repository(), "sandbox", [receipt], datetime.now(UTC), get_settings())
            metrics.clear_metrics()
        else:
            self._post_receipt(reference, status)

    @rule(advance=st.sampled_from(CLOCK_STEPS), fault=FAULTS, after=st.integers(0, 4))
    def sweep(self, advance: timedelta, fault: str, after: int) -> None:
        self._begin()
        self.clock += advance
        self._inject(fault, after)
        try:
            self._sweep()
        except (InjectedFault, LambdaCrash):
            pass  # the sweep died; its leases run out and the next one takes the work
        finally:
            self._stop_faults()

    @precondition(lambda self: self.schedules)
    @rule(choice=st.integers(0, 50))
    def cancel_schedule(self, choice: int) -> None:
        self._begin()
        schedule_id = self.schedules[choice % len(self.schedules)]
        code, body, _ = self.harness.api(
            "schedules",
            "schedules-delete",
            self.merchant,
            path=f"/api/v1/lisoloo/sms-api/schedules/{schedule_id}",
            path_parameters={"schedule_id": schedule_id},
        )
        assert code == 200, body
        for message_id in body["data"]["cancelled"]:
            tracked = self.messages[message_id]
            assert tracked.rank == AGGREGATE_RANK["scheduled"], f"{message_id} was released but got cancelled"
            tracked.removed = True

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def counters_match_recipients_and_finals_stay_final(self) -> None:
        self._learn_occurrences()
        for tracked in self.messages.values():
            code, body = self.harness.status(self.merchant, tracked.message_id)
            if tracked.removed:
                assert code == 404, f"cancelled {tracked.message_id} answers {code}"
                continue
            assert code == 200, body
            data = body["data"]
            recipients = data["recipients"]
            assert len(recipients) == data["total_recipients"] == len(tracked.numbers)
            states = [SmsStatus(recipient["status"]) for recipient in recipients]
            delivered = sum(1 for state in states if state.is_success)
            failed = sum(1 for state in states if state.is_terminal and not state.is_success)
            assert (data["delivered"], data["failed"], data["pending"]) == (
                delivered,
                failed,
                len(states) - delivered - failed,
            ), data
            assert data["delivered"] + data["failed"] + data["pending"] == data["total_recipients"]
            final = data["pending"] == 0
            assert (data["status"] in ("delivered", "failed")) == final, data
            if final:
                assert data["status"] == ("delivered" if delivered else "failed"), data
            rank = AGGREGATE_RANK[data["status"]]
            assert rank >= tracked.rank, f"{tracked.message_id} went back to {data['status']}"
            tracked.rank = rank
            for index, recipient in enumerate(recipients):
                seen = (recipient["status"], recipient["error_code"])
                if index in tracked.final_rows:
                    assert seen == tracked.final_rows[index], f"final recipient {index} changed to {seen}"
                elif SmsStatus(recipient["status"]).is_terminal:
                    tracked.final_rows[index] = seen

    @invariant()
    def nobody_twice_for_one_attempt(self) -> None:
        first_sent: dict[tuple[str, int], Sent] = {}
        for sent in self.carrier.sent:
            assert sent.status_before is None or not sent.status_before.is_terminal, (
                f"{sent.reference} submitted while already {sent.status_before}"
            )
            earlier = first_sent.get((sent.reference, sent.attempt))
            if earlier is not None:
                assert earlier.step in self.crashed_steps, (
                    f"{sent.reference} attempt {sent.attempt} submitted again in step {sent.step}"
                    f" though step {earlier.step} recorded its outcome"
                )
            first_sent[(sent.reference, sent.attempt)] = sent
        numbers = {t.message_id: t.numbers for t in self.messages.values()}
        for sent in self.carrier.sent:
            key = RecipientKey.from_reference(sent.reference)
            assert key is not None and key.org_id == self.merchant.org_id
            assert numbers[key.message_id][key.index] != INVALID, "an invalid number reached the carrier"

    @invariant()
    def webhook_events_form_a_valid_sequence(self) -> None:
        for tracked in self.messages.values():
            record = self.rows.messages.get(self.merchant.org_id, tracked.message_id)
            tracked.events.extend(event.type for event in events_for_change(tracked.record, record))
            if record is not None:
                tracked.record = record
            events = tracked.events
            if not events:
                continue
            assert events[0] == QUEUED and events.count(QUEUED) == 1, events
            sequence = [SEQUENCE[event] for event in events]
            assert sequence == sorted(set(sequence)), f"{tracked.message_id}: {events}"
            finals = [event for event in events if SEQUENCE[event] == 4]
            assert len(finals) <= 1 and (not finals or events[-1] == finals[0]), events

    # --- the end of every run: nothing is lost -------------------------------------------------

    def teardown(self) -> None:
        self._stop_faults()
        for reference, status in self.unacknowledged_receipts:
            if status.startswith("part:"):
                _, part, final = status.split(":")
                receipt = CarrierReceipt(carrier_ref=reference, status=SmsStatus(final), part=part)
                apply_carrier_receipts(self.rows, "sandbox", [receipt], datetime.now(UTC), get_settings())
                metrics.clear_metrics()
            else:
                self._post_receipt(reference, status)
        self.unacknowledged_receipts.clear()
        # Enough rounds for the slowest path: a recurring send made last, to a number that fails
        # twice, needs its release, three attempts (a retry's recipient has no deadline yet) and
        # then its deadline.
        for _ in range(6):
            self._begin()
            self.waiting_jobs.extend(self.harness.queued_jobs())
            while self.waiting_jobs:
                batch, self.waiting_jobs = self.waiting_jobs[:10], self.waiting_jobs[10:]
                assert self._dispatch(batch) == set(), "a job kept failing with no fault injected"
            self.clock += timedelta(hours=25)
            self._sweep()
        self.counters_match_recipients_and_finals_stay_final()
        self.nobody_twice_for_one_attempt()
        self.webhook_events_form_a_valid_sequence()
        for tracked in self._live():
            _, body = self.harness.status(self.merchant, tracked.message_id)
            data = body["data"]
            assert data["pending"] == 0 and data["status"] in ("delivered", "failed"), f"never finished: {data}"
            for number, recipient in zip(tracked.numbers, data["recipients"], strict=True):
                if number == INVALID:  # 1503 when the deadline came before its dispatch job
                    assert (recipient["status"], recipient["error_code"]) in (("failed", 1400), ("failed", 1503))
            assert tracked.events and tracked.events[-1] in ("sms.delivered", "sms.failed"), tracked.events
        # Everything is final now: the carrier's late storm (each final recipient's receipt again,
        # and one that contradicts it) is answered 200 and moves nothing.
        replies = []
        for tracked in self._live():
            for index, (status, _) in sorted(tracked.final_rows.items()):
                reference = RecipientKey(self.merchant.org_id, tracked.message_id, index).reference
                for again in (status, "undelivered" if status == "delivered" else "delivered"):
                    replies.append((again, reference, self.harness.receipt(reference, again)))
        self.counters_match_recipients_and_finals_stay_final()
        self.webhook_events_form_a_valid_sequence()
        for again, reference, (code, reply) in replies:
            assert (code, reply["data"]["applied"]) == (200, 0), f"{again} moved final {reference}: {reply}"


def run_lifecycle(machine: type[Lifecycle], harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs a lifecycle state machine (this one, or one that adds to it) on ``harness``."""
    slot: dict[str, Any] = {}
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", lambda name: slot["carrier"])
    # Every redelivery here comes after SQS's visibility timeout (180 s), so the claims a crashed
    # run left are stale by then; runs never overlap in this machine.
    monkeypatch.setattr(dispatching, "CLAIM_STALE_AFTER", timedelta(0))
    slot["faults"] = CallFaults(dependencies.repository().client)
    machine.harness = harness
    machine.carrier_slot = slot
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not FUZZING,
            database=None if not FUZZING else settings.default.database,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        ),
    )


def test_random_interleavings_with_crashes_lose_nothing_and_send_nothing_twice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_lifecycle(Lifecycle, harness, monkeypatch)
