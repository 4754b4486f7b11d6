"""The status rules of DESIGN §3: tiers, the transition guard, counters and the aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.status import (
    MessageProgress,
    SmsStatus,
    Tier,
    aggregate_of_recipients,
    aggregate_status,
    can_transition,
    counter_delta,
    goes_further,
    is_handed_off,
    message_error_code,
    unclaimed_status,
)

S = SmsStatus
TERMINAL = [
    S.DELIVERED,
    S.PARTIALLY_DELIVERED,
    S.DELIVERY_UNKNOWN,
    S.UNDELIVERED,
    S.REJECTED,
    S.EXPIRED,
    S.FAILED,
]
HANDED_OFF = [S.ACCEPTED, S.ENROUTE, S.SENT]
UNTIERED = [S.UNKNOWN, S.NONE]
TIERED = [status for status in SmsStatus if status not in UNTIERED]


@pytest.mark.parametrize(
    ("status", "tier", "is_terminal", "is_success"),
    [
        (S.SCHEDULED, Tier.SCHEDULED, False, False),
        (S.PENDING, Tier.PENDING, False, False),
        (S.PROCESSING, Tier.PROCESSING, False, False),
        (S.ACCEPTED, Tier.HANDED_OFF, False, False),
        (S.ENROUTE, Tier.HANDED_OFF, False, False),
        (S.SENT, Tier.HANDED_OFF, False, False),
        (S.DELIVERED, Tier.TERMINAL, True, True),
        (S.PARTIALLY_DELIVERED, Tier.TERMINAL, True, False),
        (S.DELIVERY_UNKNOWN, Tier.TERMINAL, True, False),
        (S.UNDELIVERED, Tier.TERMINAL, True, False),
        (S.REJECTED, Tier.TERMINAL, True, False),
        (S.EXPIRED, Tier.TERMINAL, True, False),
        (S.FAILED, Tier.TERMINAL, True, False),
        (S.UNKNOWN, None, False, False),
        (S.NONE, None, False, False),
    ],
)
def test_status_tier_terminal_and_success(
    status: SmsStatus, tier: Tier | None, is_terminal: bool, is_success: bool
) -> None:
    assert status.tier == tier
    assert status.is_terminal is is_terminal
    assert status.is_success is is_success


def test_the_enum_holds_exactly_the_fifteen_spec_values() -> None:
    assert sorted(status.value for status in SmsStatus) == sorted(
        [
            "pending", "scheduled", "processing", "accepted", "enroute", "sent", "delivered",
            "partially_delivered", "delivery_unknown", "undelivered", "rejected", "expired",
            "failed", "unknown", "none",
        ]
    )  # fmt: skip


# --- can_transition ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        # Forward, one tier or several at once.
        (S.SCHEDULED, S.PENDING, True),
        (S.PENDING, S.PROCESSING, True),
        (S.PROCESSING, S.ACCEPTED, True),
        (S.PROCESSING, S.SENT, True),
        (S.SENT, S.DELIVERED, True),
        (S.ENROUTE, S.UNDELIVERED, True),
        (S.PENDING, S.SENT, True),  # a receipt overtaking the submit response
        (S.PROCESSING, S.DELIVERED, True),
        (S.PROCESSING, S.REJECTED, True),
        (S.PENDING, S.FAILED, True),  # spec: a malformed MSISDN jumps pending → failed
        (S.SCHEDULED, S.FAILED, True),
        # Backward is refused.
        (S.PENDING, S.SCHEDULED, False),
        (S.PROCESSING, S.PENDING, False),
        (S.SENT, S.PROCESSING, False),
        (S.ACCEPTED, S.PENDING, False),
        # Sideways inside handed-off, in any order (carriers report them out of order).
        (S.ACCEPTED, S.ENROUTE, True),
        (S.ENROUTE, S.ACCEPTED, True),
        (S.ENROUTE, S.SENT, True),
        (S.SENT, S.ENROUTE, True),
        (S.ACCEPTED, S.SENT, True),
        (S.SENT, S.ACCEPTED, True),
        # The same status again (a duplicate receipt) is not a move.
        (S.PENDING, S.PENDING, False),
        (S.PROCESSING, S.PROCESSING, False),
        (S.SENT, S.SENT, False),
        (S.DELIVERED, S.DELIVERED, False),
        # Terminal absorbs: late and contradicting receipts are ignored.
        (S.DELIVERED, S.FAILED, False),
        (S.FAILED, S.DELIVERED, False),
        (S.UNDELIVERED, S.DELIVERED, False),
        (S.EXPIRED, S.SENT, False),
        (S.REJECTED, S.PENDING, False),
        # unknown / none never move anyone and nobody moves to them.
        (S.SENT, S.UNKNOWN, False),
        (S.PENDING, S.NONE, False),
        (S.UNKNOWN, S.DELIVERED, False),
        (S.NONE, S.PENDING, False),
        (S.UNKNOWN, S.UNKNOWN, False),
    ],
)
def test_can_transition(current: SmsStatus, new: SmsStatus, allowed: bool) -> None:
    assert can_transition(current, new) is allowed


@pytest.mark.parametrize(("current", "new"), list(product(TERMINAL, SmsStatus)))
def test_terminal_absorbs_everything(current: SmsStatus, new: SmsStatus) -> None:
    assert not can_transition(current, new)


@pytest.mark.parametrize("other", list(SmsStatus))
@pytest.mark.parametrize("untiered", UNTIERED)
def test_unknown_and_none_never_move_and_are_never_targets(untiered: SmsStatus, other: SmsStatus) -> None:
    assert not can_transition(untiered, other)
    assert not can_transition(other, untiered)


@pytest.mark.parametrize(("current", "new"), list(product(TIERED, TIERED)))
def test_a_move_never_lowers_the_tier_and_only_handed_off_moves_sideways(current: SmsStatus, new: SmsStatus) -> None:
    assert current.tier is not None
    assert new.tier is not None
    moves_up = new.tier > current.tier and not current.is_terminal
    moves_sideways = new.tier == current.tier == Tier.HANDED_OFF and new is not current
    if moves_up or moves_sideways:
        assert can_transition(current, new)
    else:
        assert not can_transition(current, new)


@pytest.mark.parametrize(
    ("candidate", "kept", "replaces"),
    [
        (S.DELIVERED, S.SENT, True),  # a higher tier wins
        (S.SENT, S.DELIVERED, False),
        (S.ENROUTE, S.ACCEPTED, True),  # inside handed-off, the later report wins
        (S.ACCEPTED, S.ENROUTE, True),
        (S.UNDELIVERED, S.DELIVERED, False),  # terminal keeps the first, as the row's guard does
        (S.DELIVERED, S.UNDELIVERED, False),
        (S.SENT, S.UNKNOWN, True),  # a state we can read beats one we cannot
        (S.UNKNOWN, S.SENT, False),
        (S.UNKNOWN, S.NONE, False),
        (S.PROCESSING, S.PROCESSING, False),
    ],
)
def test_goes_further(candidate: SmsStatus, kept: SmsStatus, replaces: bool) -> None:
    assert goes_further(candidate, kept) is replaces


@pytest.mark.parametrize("status", list(SmsStatus))
def test_handed_off_means_with_a_carrier_or_final(status: SmsStatus) -> None:
    assert is_handed_off(status) is (status in HANDED_OFF or status in TERMINAL)


@pytest.mark.parametrize(
    ("progress", "failures", "expected"),
    [
        (MessageProgress(total=3, failed=3, started=True), {1400: 3}, 1400),  # shared by all
        (MessageProgress(total=3, failed=3, started=True), {1400: 1, 1401: 2}, 1401),  # the most frequent
        (MessageProgress(total=2, failed=2, started=True), {1503: 1, 1401: 1}, 1401),  # a tie: the lowest
        (MessageProgress(total=2, delivered=1, failed=1, started=True), {1503: 1}, None),  # delivered: none
        (MessageProgress(total=2, failed=1, started=True), {1400: 1}, None),  # not final yet
        (MessageProgress(total=2, failed=2, started=True), {}, None),
    ],
)
def test_a_failed_messages_error_code(
    progress: MessageProgress, failures: dict[int, int], expected: int | None
) -> None:
    assert message_error_code(progress, failures) == expected


def test_an_unclaimed_recipient_is_pending_once_released_and_scheduled_before() -> None:
    assert (unclaimed_status(released=True), unclaimed_status(released=False)) == (S.PENDING, S.SCHEDULED)


@pytest.mark.parametrize(
    ("new", "delta"),
    [(status, (0, 0)) for status in SmsStatus if not status.is_terminal]
    + [(S.DELIVERED, (1, 0))]
    + [(status, (0, 1)) for status in TERMINAL if status is not S.DELIVERED],
)
def test_counter_delta(new: SmsStatus, delta: tuple[int, int]) -> None:
    assert counter_delta(new) == delta


# --- aggregate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        # Rule 1: all terminal → delivered if any delivered, else failed; before every other rule.
        (MessageProgress(total=3, delivered=3, started=True, handed_off_chunks=1), S.DELIVERED),
        (MessageProgress(total=3, delivered=1, failed=2, started=True, handed_off_chunks=1), S.DELIVERED),
        (MessageProgress(total=3, failed=3, started=True, handed_off_chunks=1), S.FAILED),
        (MessageProgress(total=2, failed=2, started=True), S.FAILED),
        (MessageProgress(total=2, failed=2, released=False), S.FAILED),
        (MessageProgress(total=1, delivered=1), S.DELIVERED),
        # Rule 2: not yet released → scheduled, whatever else is recorded.
        (MessageProgress(total=3, released=False), S.SCHEDULED),
        (MessageProgress(total=3, failed=2, released=False), S.SCHEDULED),
        # Rule 3: released, no recipient picked up yet → pending.
        (MessageProgress(total=3), S.PENDING),
        (MessageProgress(total=3, chunks=2), S.PENDING),
        # Rule 4: every chunk handed off or terminal → sent, even with some recipients terminal.
        (MessageProgress(total=3, started=True, handed_off_chunks=1), S.SENT),
        (MessageProgress(total=3, delivered=1, failed=1, started=True, handed_off_chunks=1), S.SENT),
        (MessageProgress(total=1500, started=True, chunks=2, handed_off_chunks=2), S.SENT),
        # Rule 5: otherwise → processing.
        (MessageProgress(total=3, started=True), S.PROCESSING),
        (MessageProgress(total=3, delivered=2, started=True), S.PROCESSING),
        (MessageProgress(total=1500, started=True, chunks=2, handed_off_chunks=1), S.PROCESSING),
    ],
)
def test_aggregate_status(progress: MessageProgress, expected: SmsStatus) -> None:
    assert aggregate_status(progress) is expected


@pytest.mark.parametrize(
    ("statuses", "released", "expected"),
    [
        # Rule 1, mixed terminal batches included.
        ([S.DELIVERED, S.DELIVERED], True, S.DELIVERED),
        ([S.DELIVERED, S.FAILED, S.UNDELIVERED], True, S.DELIVERED),
        ([S.FAILED, S.REJECTED, S.EXPIRED, S.UNDELIVERED, S.DELIVERY_UNKNOWN], True, S.FAILED),
        ([S.PARTIALLY_DELIVERED], True, S.FAILED),  # only delivered is a success (spec)
        ([S.FAILED, S.FAILED], False, S.FAILED),  # rule 1 before rule 2
        # Rule 2: every recipient still scheduled, or the message flagged not released.
        ([S.SCHEDULED, S.SCHEDULED], False, S.SCHEDULED),
        ([S.SCHEDULED, S.SCHEDULED], True, S.SCHEDULED),
        # Rule 3.
        ([S.PENDING, S.PENDING, S.PENDING], True, S.PENDING),
        # Rule 4: handed off or terminal, in any mix.
        ([S.ACCEPTED, S.ENROUTE, S.SENT], True, S.SENT),
        ([S.SENT, S.DELIVERED, S.FAILED], True, S.SENT),
        # Rule 5: anything in between, including the direct pending → failed of a bad number.
        ([S.PENDING, S.PROCESSING], True, S.PROCESSING),
        ([S.PROCESSING, S.SENT], True, S.PROCESSING),
        ([S.PENDING, S.SENT], True, S.PROCESSING),
        ([S.PENDING, S.FAILED], True, S.PROCESSING),
        ([S.PENDING, S.DELIVERED], True, S.PROCESSING),
        ([S.PROCESSING, S.DELIVERED, S.FAILED], True, S.PROCESSING),
    ],
)
def test_aggregate_of_recipients(statuses: list[SmsStatus], released: bool, expected: SmsStatus) -> None:
    assert aggregate_of_recipients(statuses, released=released) is expected


def design_rules(statuses: list[SmsStatus]) -> SmsStatus:
    """DESIGN §3's five rules, word for word, as the oracle for the property below."""
    if all(status.is_terminal for status in statuses):
        return S.DELIVERED if any(status is S.DELIVERED for status in statuses) else S.FAILED
    if all(status is S.SCHEDULED for status in statuses):
        return S.SCHEDULED
    if all(status is S.PENDING for status in statuses):
        return S.PENDING
    if all(status in HANDED_OFF or status.is_terminal for status in statuses):
        return S.SENT
    return S.PROCESSING


released_statuses = st.lists(st.sampled_from([s for s in TIERED if s is not S.SCHEDULED]), min_size=1)
unreleased_statuses = st.lists(st.just(S.SCHEDULED), min_size=1)


@given(statuses=st.one_of(released_statuses, unreleased_statuses))
def test_aggregate_of_recipients_follows_the_design_rules(statuses: list[SmsStatus]) -> None:
    assert aggregate_of_recipients(statuses) is design_rules(statuses)


# --- a whole message, simulated ---------------------------------------------------------------

# Aggregates only move forward through this order; the two terminal ones never change.
AGGREGATE_ORDER = {S.SCHEDULED: 0, S.PENDING: 1, S.PROCESSING: 2, S.SENT: 3, S.DELIVERED: 4, S.FAILED: 4}
RELEASE = "release"
Event = tuple[int, SmsStatus] | str  # a receipt (recipient index, new status), or RELEASE


@dataclass
class SimulatedMessage:
    """A message as storage keeps it: recipient rows, counters moved by ``counter_delta`` in
    the same step as the row, and the progress flags, with every move guarded by
    ``can_transition`` (the conditional write)."""

    statuses: list[SmsStatus]
    released: bool
    chunk_size: int
    delivered: int = 0
    failed: int = 0
    started: bool = False

    def receive(self, index: int, new: SmsStatus) -> None:
        if not can_transition(self.statuses[index], new):
            return
        delivered, failed = counter_delta(new)
        self.delivered += delivered
        self.failed += failed
        self.statuses[index] = new
        # Storage marks the message started when dispatch first claims (or fails) a recipient.
        self.started = self.started or (new.tier is not None and new.tier >= Tier.PROCESSING)

    def apply(self, event: Event) -> None:
        if isinstance(event, tuple):
            self.receive(*event)
        else:
            self.release()

    def release(self) -> None:
        for index, status in enumerate(self.statuses):
            if status is S.SCHEDULED:
                self.receive(index, S.PENDING)
        self.released = True

    @property
    def progress(self) -> MessageProgress:
        chunks = [self.statuses[i : i + self.chunk_size] for i in range(0, len(self.statuses), self.chunk_size)]
        return MessageProgress(
            total=len(self.statuses),
            delivered=self.delivered,
            failed=self.failed,
            released=self.released,
            started=self.started,
            chunks=len(chunks),
            handed_off_chunks=sum(
                1 for chunk in chunks if all(s.tier is not None and s.tier >= Tier.HANDED_OFF for s in chunk)
            ),
        )

    @property
    def aggregate(self) -> SmsStatus:
        return aggregate_of_recipients(self.statuses, released=self.released)


@st.composite
def message_histories(draw: st.DrawFn) -> tuple[SimulatedMessage, list[Event]]:
    """A message of 1..30 recipients, pending or scheduled, and any sequence of receipts for
    it (duplicates, out of order, unknown and none included), plus releases if scheduled."""
    total = draw(st.integers(min_value=1, max_value=30))
    scheduled = draw(st.booleans())
    message = SimulatedMessage(
        statuses=[S.SCHEDULED if scheduled else S.PENDING] * total,
        released=not scheduled,
        chunk_size=draw(st.integers(min_value=1, max_value=total)),
    )
    # Non-terminal receipts weighted up, so histories linger in the middle tiers before ending.
    new_status = st.one_of(st.sampled_from([s for s in SmsStatus if not s.is_terminal]), st.sampled_from(list(S)))
    receipt = st.tuples(st.integers(min_value=0, max_value=total - 1), new_status)
    events = st.one_of(receipt, st.just(RELEASE)) if scheduled else receipt
    return message, draw(st.lists(events, max_size=120))


@given(history=message_histories())
def test_a_message_stays_consistent_through_any_sequence_of_receipts(
    history: tuple[SimulatedMessage, list[Event]],
) -> None:
    message, events = history
    total = len(message.statuses)
    previous_statuses = list(message.statuses)
    previous_aggregate = message.aggregate
    for event in events:
        # When a receipt (or the release) arrives,
        message.apply(event)

        # Then the counters still add up and match a recount of the rows,
        pending = sum(1 for status in message.statuses if not status.is_terminal)
        assert message.delivered + message.failed + pending == total
        assert message.delivered == sum(1 for status in message.statuses if status.is_success)
        assert message.failed == sum(1 for s in message.statuses if s.is_terminal and not s.is_success)
        assert message.progress.pending == pending
        # no terminal recipient changed and no recipient went down a tier,
        for before, after in zip(previous_statuses, message.statuses, strict=True):
            if before.is_terminal:
                assert after is before
            assert before.tier is not None
            assert after.tier is not None
            assert after.tier >= before.tier
        # the aggregate only moved forward, and stopped once terminal,
        aggregate = message.aggregate
        assert AGGREGATE_ORDER[aggregate] >= AGGREGATE_ORDER[previous_aggregate]
        if previous_aggregate.is_terminal:
            assert aggregate is previous_aggregate
        # and the stored progress gives the same aggregate as the rows.
        assert aggregate_status(message.progress) is aggregate
        previous_statuses, previous_aggregate = list(message.statuses), aggregate


@given(history=message_histories())
def test_a_released_message_ends_terminal_once_every_recipient_has_a_final_receipt(
    history: tuple[SimulatedMessage, list[Event]],
) -> None:
    # Given any history, when the message is released and every recipient then gets a final
    # receipt (the sweep's timeout does exactly this), the aggregate is terminal.
    message, events = history
    for event in events:
        message.apply(event)
    message.release()
    for index in range(len(message.statuses)):
        message.receive(index, S.FAILED)
    assert message.aggregate is (S.DELIVERED if message.delivered else S.FAILED)
    assert message.progress.all_terminal
