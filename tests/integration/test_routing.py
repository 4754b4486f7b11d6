"""Dispatch by route (DESIGN §8): grouping per carrier, failover on a definite refusal only,
the same carrier after an uncertain outcome, 1407 without a submit, disabled carriers skipped;
and, by property, that no recipient is ever taken by two carriers in one attempt."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lisoloo import dependencies
from lisoloo.carriers import CarrierReceipt, ReceiptRequest, Submission, SubmitOutcome, SubmitResult
from lisoloo.entities import NumberListing, RecipientKey
from lisoloo.routing import CarrierConfig, CarrierType, Route, RouteTarget
from lisoloo.settings import get_settings
from lisoloo.submitting import Routing
from lisoloo.sweeping import Sweeper
from tests.integration.conftest import Harness, Merchant, load_function

pytestmark = pytest.mark.usefixtures("harness")


@dataclass
class ScriptedCarrier:
    """Answers every submission with ``answer`` (or per number suffix from ``by_suffix``) and
    remembers what it was asked and what it took."""

    name: str
    answer: SubmitOutcome = SubmitOutcome.ACCEPTED
    by_suffix: dict[str, SubmitOutcome] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    receipt_acknowledgement: str | None = None

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        results = []
        for submission in submissions:
            self.asked.append(submission.reference)
            outcome = self.by_suffix.get(submission.to[-1], self.answer)
            if outcome is not SubmitOutcome.TRANSIENT:
                # Uncertain is the worst case: it got there, only its answer was lost.
                self.taken.append(submission.reference)
            results.append(SubmitResult(submission.reference, outcome, carrier_ref=submission.reference))
        return results

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        raise AssertionError("not used here")


@pytest.fixture
def carriers(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ScriptedCarrier]]:
    fleet = {"alpha": ScriptedCarrier("alpha"), "beta": ScriptedCarrier("beta")}
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", fleet.get)
    yield fleet


def set_route(harness: Harness, match: str, *targets: str, org_id: str | None = None) -> None:
    parsed = tuple(
        RouteTarget(*target.split(":")[:1], int(target.split(":")[1]) if ":" in target else 1) for target in targets
    )
    harness.repository().routes.put(Route(match, parsed, org_id), datetime.now(UTC))
    dependencies.route_book.cache_clear()


def numbers(count: int, start: int = 100) -> list[str]:
    return [f"+25471234{start + index:04d}" for index in range(count)]


def rows(harness: Harness, merchant: Merchant, message_id: str) -> dict[int, Any]:
    return harness.repository().recipients.read_all(merchant.org_id, message_id)[1]


def send(harness: Harness, merchant: Merchant, to: list[str]) -> str:
    code, body = harness.send(merchant, {"to": to, "message": "Your code is 4821"})
    assert code == 200, body
    message_id: str = body["data"]["message_id"]
    return message_id


def sweeper(harness: Harness, fleet: dict[str, ScriptedCarrier]) -> Sweeper:
    return Sweeper(
        repository=dependencies.repository(),
        queue=dependencies.dispatch_queue(),
        carrier_for=fleet.get,
        settings=get_settings(),
        receipts_waiting=lambda: False,
        routing=dependencies.routing(fleet.get),
    )


def test_a_refusing_carrier_fails_over_to_the_next_in_the_same_attempt(
    harness: Harness, carriers: dict[str, ScriptedCarrier]
) -> None:
    # Given a route alpha then beta, and alpha refusing everything (throttled: definitely not taken)
    set_route(harness, "*", "alpha:1", "beta:0")
    carriers["alpha"].answer = SubmitOutcome.TRANSIENT
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(30))
    # When dispatch runs once
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then every recipient went to alpha, then beta, in that one attempt, and beta took each once
    assert len(carriers["alpha"].asked) == len(carriers["beta"].taken) == 30
    assert sorted(carriers["beta"].taken) == sorted(carriers["alpha"].asked)
    claimed = rows(harness, merchant, message_id)
    assert {(row.status.value, row.carrier, row.attempts) for row in claimed.values()} == {("sent", "beta", 1)}


def test_a_recipients_hand_off_time_is_its_own_not_its_dispatch_runs(
    harness: Harness, carriers: dict[str, ScriptedCarrier], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a route alpha then beta, and alpha taking a second to refuse everything
    set_route(harness, "*", "alpha:1", "beta:0")
    carriers["alpha"].answer = SubmitOutcome.TRANSIENT
    refuse = carriers["alpha"].submit

    def slow_refusal(submissions: Sequence[Submission]) -> list[SubmitResult]:
        time.sleep(1.0)
        return refuse(submissions)

    monkeypatch.setattr(carriers["alpha"], "submit", slow_refusal)
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(3))
    # When dispatch runs once
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then each recipient's hand-off is when beta took it, a second into the run: route
    # quality's receipt latency counts from there
    message = harness.repository().messages.get(merchant.org_id, message_id)
    assert message is not None and message.started_at is not None
    claimed = rows(harness, merchant, message_id).values()
    assert {row.carrier for row in claimed} == {"beta"}
    assert all(
        row.handed_off_at is not None and row.handed_off_at - message.started_at >= timedelta(seconds=1)
        for row in claimed
    )


def test_an_uncertain_answer_stays_with_its_carrier(harness: Harness, carriers: dict[str, ScriptedCarrier]) -> None:
    harness.wipe_table()
    # Given alpha times out after the request was sent (it may hold the message)
    set_route(harness, "*", "alpha:1", "beta:0")
    carriers["alpha"].answer = SubmitOutcome.UNCERTAIN
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(3))
    started = datetime.now(UTC)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then beta is never asked: the next attempt is pinned to alpha
    assert carriers["beta"].asked == []
    assert {row.retry_carrier for row in rows(harness, merchant, message_id).values()} == {"alpha"}
    # When the retry comes due and alpha answers
    carriers["alpha"].answer = SubmitOutcome.ACCEPTED
    summary = sweeper(harness, carriers).sweep(started + timedelta(hours=1, minutes=1), lambda: 900.0)
    assert summary.retried == 3
    # Then alpha was asked again with the same references, and beta never
    assert len(carriers["alpha"].asked) == 6
    assert len(set(carriers["alpha"].asked)) == 3
    assert carriers["beta"].asked == []
    assert {row.carrier for row in rows(harness, merchant, message_id).values()} == {"alpha"}


def test_when_every_carrier_refuses_the_retry_schedule_applies(
    harness: Harness, carriers: dict[str, ScriptedCarrier]
) -> None:
    harness.wipe_table()
    set_route(harness, "*", "alpha", "beta")
    carriers["alpha"].answer = carriers["beta"].answer = SubmitOutcome.TRANSIENT
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(4))
    started = datetime.now(UTC)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then each was asked of both, once, and waits for attempt 2, unpinned
    assert len(carriers["alpha"].asked) == len(carriers["beta"].asked) == 4
    waiting = rows(harness, merchant, message_id).values()
    assert {(row.status.value, row.attempts, row.retry_carrier) for row in waiting} == {("processing", 2, None)}
    # When beta recovers by the retry
    carriers["beta"].answer = SubmitOutcome.ACCEPTED
    sweeper(harness, carriers).sweep(started + timedelta(hours=1, minutes=1), lambda: 900.0)
    assert {row.carrier for row in rows(harness, merchant, message_id).values()} == {"beta"}
    assert len(carriers["beta"].taken) == 4


def test_a_number_no_route_serves_fails_1407_unsent(
    harness: Harness, carriers: dict[str, ScriptedCarrier], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given routes for Kenya's +2547 only, and the implicit default route turned off
    set_route(harness, "+2547", "alpha")
    merchant = harness.new_merchant()
    routing = dependencies.routing
    monkeypatch.setattr(
        load_function("dispatch"), "routing", lambda carrier_for=None: _without_default(routing(carrier_for))
    )
    _, body = harness.send(merchant, {"to": ["+254712340100", "+2348031234567"], "message": "hi"})
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then the Nigerian number failed 1407 and was never submitted; the Kenyan one went
    _, status = harness.status(merchant, body["data"]["message_id"])
    recipients = {r["to"]: (r["status"], r["error_code"], r["error_message"]) for r in status["data"]["recipients"]}
    assert recipients == {"+254712340100": ("sent", None, None), "+2348031234567": ("failed", 1407, "NO_ROUTE")}
    assert carriers["alpha"].asked == [RecipientKey(merchant.org_id, body["data"]["message_id"], 0).reference]


def _without_default(routing: Routing) -> Routing:
    routing.default_carrier = None
    return routing


def test_a_disabled_carrier_is_skipped_without_a_request(
    harness: Harness, carriers: dict[str, ScriptedCarrier], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alpha configured but disabled, and the real directory deciding what is usable
    repository = harness.repository()
    now = datetime.now(UTC)
    for name in ("alpha", "beta"):
        if repository.carriers.config(name) is None:
            repository.carriers.add(CarrierConfig(name, CarrierType.SANDBOX, url="http://127.0.0.1:9"), now)
    repository.carriers.set_enabled("alpha", False, now)
    dependencies.carrier_directory.cache_clear()
    directory = dependencies.carrier_directory()
    monkeypatch.setattr(
        load_function("dispatch"), "carrier_connector", lambda name: carriers[name] if directory.usable(name) else None
    )
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(5))
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then alpha was never asked, and beta took all five
    assert carriers["alpha"].asked == []
    assert {row.carrier for row in rows(harness, merchant, message_id).values()} == {"beta"}
    repository.carriers.set_enabled("alpha", True, now)
    dependencies.carrier_directory.cache_clear()


def test_a_crashed_claim_is_sent_again_only_to_the_carrier_it_was_claimed_for(
    harness: Harness, carriers: dict[str, ScriptedCarrier]
) -> None:
    # Given a route whose hash sends this recipient to alpha first, and a run that crashed after
    # moving it to beta (it may have reached beta) and never recorded an answer
    set_route(harness, "*", "alpha:1", "beta:0")
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(1))
    key = RecipientKey(merchant.org_id, message_id, 0)
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    message = harness.repository().messages.get(merchant.org_id, message_id)
    assert message is not None
    listing = NumberListing(numbers(1)[0], message.created_at)
    assert harness.repository().recipients.claim(key, "alpha", long_ago, timedelta(seconds=60), listing)
    assert harness.repository().recipients.reassign(key, "beta", long_ago)
    # When the job is redelivered after the claim went stale
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then only beta was asked, with the same reference, and alpha never
    assert (carriers["alpha"].asked, carriers["beta"].asked) == ([], [key.reference])
    assert {row.carrier for row in rows(harness, merchant, message_id).values()} == {"beta"}


outcomes = st.sampled_from([SubmitOutcome.ACCEPTED, SubmitOutcome.TRANSIENT, SubmitOutcome.UNCERTAIN])
scripts = st.fixed_dictionaries(
    {name: st.dictionaries(st.sampled_from("0123456789"), outcomes, max_size=10) for name in ("alpha", "beta")}
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a moto-backed run takes minutes
)
@given(scripts, outcomes, outcomes)
def test_no_recipient_is_ever_taken_by_two_carriers_and_a_refusing_carrier_loses_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, script: dict[str, Any], alpha: SubmitOutcome, beta: SubmitOutcome
) -> None:
    # Given two carriers answering each number (by its last digit) as the script says
    fleet = {
        "alpha": ScriptedCarrier("alpha", alpha, script["alpha"]),
        "beta": ScriptedCarrier("beta", beta, script["beta"]),
    }
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", fleet.get)
    dependencies.circuit_breakers.cache_clear()
    set_route(harness, "*", "alpha", "beta")
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(20))
    started = datetime.now(UTC)
    # When dispatch runs, then every retry comes due (both attempts after the first)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    sweep = sweeper(harness, fleet)
    for later in (timedelta(hours=1, minutes=1), timedelta(hours=4, minutes=2)):
        sweep.sweep(started + later, lambda: 900.0)
    # Then no reference reached both carriers (an uncertain answer counts as reached)
    taken_by: dict[str, set[str]] = {}
    for name, carrier in fleet.items():
        for taken in carrier.taken:
            taken_by.setdefault(taken, set()).add(name)
    assert all(len(names) == 1 for names in taken_by.values()), taken_by
    # and nothing is lost: each recipient is handed off to the carrier that took it, or failed 1502
    final = rows(harness, merchant, message_id)
    assert len(final) == 20
    for row in final.values():
        key = RecipientKey(merchant.org_id, message_id, row.index).reference
        if row.status.value == "sent":
            assert taken_by[key] == {row.carrier}
        else:
            assert (row.status.value, row.error_code) == ("failed", 1502)
