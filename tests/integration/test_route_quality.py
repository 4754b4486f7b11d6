"""Route quality and demotion on moto (DESIGN §8): figures kept from hand-offs and receipts
equal a recount of the rows, count nothing twice, see fast receipts and 1503s; the sweep
demotes a carrier whose figures are bad, dispatch moves its traffic, and it recovers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lisoloo import dependencies
from lisoloo.entities import RecipientKey
from lisoloo.quality_rules import RouteFigures, bucket_start
from lisoloo.route_quality import RouteStats, review_carriers, route_stats
from lisoloo.routing import CarrierConfig, CarrierType
from lisoloo.settings import get_settings
from lisoloo.submitting import SubmitOutcome
from lisoloo.sweeping import Sweeper
from tests.integration.conftest import Harness, load_function
from tests.integration.test_routing import ScriptedCarrier, numbers, rows, send, set_route
from tests.integration.test_sweep import register_sandbox


def plenty_of_time() -> float:
    return 900.0


def sandbox_sweeper(harness: Harness) -> Sweeper:
    return Sweeper(
        repository=harness.repository(),
        queue=dependencies.dispatch_queue(),
        carrier_for=lambda name: harness.carrier,
        settings=get_settings(),
        receipts_waiting=lambda: False,
    )


def by_country(stats: list[RouteStats]) -> dict[str, RouteFigures]:
    return {row.country: row.figures for row in stats}


def test_figures_count_hand_offs_receipts_and_silence_once_each(harness: Harness) -> None:
    harness.wipe_table()
    harness.carrier_token = register_sandbox(harness)
    # Given recipients in Kenya and Tanzania handed to the sandbox carrier
    merchant = harness.new_merchant()
    to = ["+254712345678", "+254712345679", "+254712345670", "+255712345678", "+254712340004"]
    message_id = send(harness, merchant, to)
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # When receipts come at once (faster than any handset: fake-looking), one of them twice
    for index, outcome in [(0, "delivered"), (1, "delivered"), (2, "undelivered"), (3, "delivered")]:
        harness.receipt(RecipientKey(merchant.org_id, message_id, index).reference, outcome)
    harness.receipt(RecipientKey(merchant.org_id, message_id, 0).reference, "delivered")
    # and the last recipient never gets one, and the deadline fails it (1503)
    now = datetime.now(UTC)
    assert sandbox_sweeper(harness).sweep(now + timedelta(hours=24, minutes=1), plenty_of_time).timed_out == 1
    # Then the sandbox's figures per country count each recipient once
    stats = by_country(route_stats(harness.repository(), ["sandbox"], now - timedelta(hours=1)))
    kenya, tanzania = stats["KE"], stats["TZ"]
    assert (kenya.submitted, kenya.delivered, kenya.failed, kenya.no_final) == (4, 2, 1, 1)
    # and the 1503 in the bucket of the deadline, a day on, when the hand-offs have left the window
    later = by_country(route_stats(harness.repository(), ["sandbox"], now + timedelta(hours=23)))
    assert later == {"KE": RouteFigures(no_final=1)}
    assert (tanzania.submitted, tanzania.delivered, tanzania.failed, tanzania.no_final) == (1, 1, 0, 0)
    # and every receipt has a latency, the delivered ones all under a second: all fast
    assert sum(kenya.latency.values()) == 3 and kenya.fast == 2 and kenya.fast_share == 1.0
    assert kenya.latency_ms(0.95) is not None and kenya.latency_ms(0.95) <= 1_000
    assert kenya.delivery_rate == pytest.approx(2 / 4)


def add_figures(harness: Harness, carrier: str, moment: datetime, figures: RouteFigures) -> None:
    seconds = get_settings().quality.route_quality_bucket_seconds
    harness.repository().route_quality.add(
        {(carrier, bucket_start(moment, seconds), "KE"): figures}, moment + timedelta(days=2)
    )


@pytest.fixture
def carriers(monkeypatch: pytest.MonkeyPatch) -> dict[str, ScriptedCarrier]:
    fleet = {"alpha": ScriptedCarrier("alpha"), "beta": ScriptedCarrier("beta")}
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", fleet.get)
    return fleet


def test_a_carrier_with_fake_receipts_is_demoted_its_traffic_moves_and_it_recovers(
    harness: Harness, carriers: dict[str, ScriptedCarrier]
) -> None:
    harness.wipe_table()
    # Given two configured carriers sharing the `*` route, and alpha's last 300 finals all
    # delivered under a second after the hand-off
    now = datetime.now(UTC)
    for name in ("alpha", "beta"):
        harness.repository().carriers.add(CarrierConfig(name, CarrierType.SANDBOX, url="http://127.0.0.1:9"), now)
    set_route(harness, "*", "alpha:1", "beta:1")
    add_figures(harness, "alpha", now, RouteFigures(submitted=300, delivered=300, fast=300))
    add_figures(harness, "beta", now, RouteFigures(submitted=300, delivered=280, failed=20))
    routing = dependencies.routing(carriers.get)
    sweeper = Sweeper(
        repository=harness.repository(),
        queue=dependencies.dispatch_queue(),
        carrier_for=carriers.get,
        settings=get_settings(),
        receipts_waiting=lambda: False,
        routing=routing,
    )
    # When the sweep judges them
    sweeper.sweep(now, plenty_of_time)
    # Then alpha is demoted, beta not, and judging again (another sweep at once) changes nothing
    assert {c.name: c.demoted for c in harness.repository().carriers.configs()} == {"alpha": True, "beta": False}
    assert review_carriers(harness.repository(), now) == []
    assert not harness.repository().carriers.set_demoted("alpha", True, "again", now)
    # When dispatchers learn it (their carrier cache renewed) and a send goes out
    dependencies.carrier_directory.cache_clear()
    merchant = harness.new_merchant()
    message_id = send(harness, merchant, numbers(40))
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    # Then beta took every recipient and alpha was never asked
    assert carriers["alpha"].asked == []
    assert {row.carrier for row in rows(harness, merchant, message_id).values()} == {"beta"}
    # And with beta refusing, alpha is still there as the last failover
    carriers["beta"].answer = SubmitOutcome.TRANSIENT
    other = send(harness, merchant, numbers(5, start=500))
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    assert {row.carrier for row in rows(harness, merchant, other).values()} == {"alpha"}
    # When alpha's newer finals are honest (an hour on, the fake ones still in the window)
    later = now + timedelta(seconds=get_settings().quality.route_quality_bucket_seconds)
    add_figures(harness, "alpha", later, RouteFigures(submitted=300, delivered=290, failed=10))
    sweeper.sweep(later, plenty_of_time)
    # Then alpha is restored
    assert {c.name: c.demoted for c in harness.repository().carriers.configs()} == {"alpha": False, "beta": False}
