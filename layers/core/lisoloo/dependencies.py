"""The collaborators a function needs, built once per container on first use (never at import)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from lisoloo import snapstart  # noqa: F401 - registers the restore hook every function needs
from lisoloo.export_files import ExportFiles
from lisoloo.queues import JobQueue
from lisoloo.settings import get_settings
from lisoloo.storage import SmsRepository

if TYPE_CHECKING:
    # Imported where used: only the dispatch, receipts and sweep functions need carriers, and
    # only the sweep the sweeper; the other functions' cold starts do not pay for them.
    from lisoloo.breaker import CircuitBreakers
    from lisoloo.carrier_tokens import CarrierTokens
    from lisoloo.carriers import Carrier
    from lisoloo.directory import CarrierDirectory, RouteBook
    from lisoloo.pacing import Pacer
    from lisoloo.submitting import Routing
    from lisoloo.sweeping import Sweeper


@cache
def repository() -> SmsRepository:
    return SmsRepository(get_settings().resources.table_name)


@cache
def dispatch_queue() -> JobQueue:
    return JobQueue(get_settings().resources.dispatch_queue_url)


@cache
def carrier_directory() -> CarrierDirectory:
    from lisoloo.directory import CarrierDirectory

    carriers = get_settings().carriers
    return CarrierDirectory(repository().carriers, carriers, carriers.carrier_config_cache_seconds)


def carrier_connector(name: str) -> Carrier:
    """Any known carrier's connector, enabled or not (receipts); CarrierNotFoundError if none."""
    from lisoloo.errors import CarrierNotFoundError

    connector = carrier_directory().connector(name)
    if connector is None:
        raise CarrierNotFoundError()
    return connector


def usable_carrier(name: str) -> Carrier | None:
    """An enabled carrier's connector, for submitting; None for an unknown or disabled one."""
    return carrier_directory().usable(name)


@cache
def route_book() -> RouteBook:
    from lisoloo.directory import RouteBook

    return RouteBook(repository().routes, get_settings().carriers.carrier_config_cache_seconds)


@cache
def circuit_breakers() -> CircuitBreakers:
    from lisoloo.breaker import CircuitBreakers

    carriers = get_settings().carriers
    return CircuitBreakers(carriers.carrier_breaker_failures, carriers.carrier_breaker_cooldown_seconds)


@cache
def pacer() -> Pacer:
    from lisoloo.pacing import Pacer
    from lisoloo.storage.pacing import PaceCounters

    return Pacer(PaceCounters(repository().table))


def routing(carrier_for: Callable[[str], Carrier | None] | None = None) -> Routing:
    """Routes, carriers, breakers and pacing as this container keeps them; ``carrier_for``
    replaces the carrier lookup (tests hand in fakes)."""
    from lisoloo.routing import Route, demote, implicit_default_carrier
    from lisoloo.submitting import Routing

    directory = carrier_directory()

    def demoted(name: str) -> bool:
        config = directory.config(name)
        return config is not None and config.demoted

    def routes() -> list[Route]:
        # Route quality's verdicts (route_quality.py), cached with the carriers' configuration.
        return demote(route_book().current(), demoted)

    def tps_of(name: str) -> int | None:
        config = directory.config(name)
        return config.tps if config is not None else None

    return Routing(
        routes=routes,
        carrier_for=carrier_for or usable_carrier,
        default_carrier=implicit_default_carrier(get_settings().carriers.carrier),
        breakers=circuit_breakers(),
        tps_of=tps_of,
        acquire=pacer().acquire,
    )


@cache
def sweeper() -> Sweeper:
    from lisoloo.sweeping import Sweeper

    return Sweeper(
        repository=repository(),
        queue=dispatch_queue(),
        carrier_for=usable_carrier,
        routing=routing(),
        settings=get_settings(),
        receipts_waiting=receipts_queue().holds_jobs,
    )


@cache
def carrier_tokens() -> CarrierTokens:
    from lisoloo.carrier_tokens import CarrierTokens

    return CarrierTokens(repository().carriers, timedelta(seconds=get_settings().carriers.carrier_token_cache_seconds))


@cache
def webhook_queue() -> JobQueue:
    return JobQueue(get_settings().resources.webhook_queue_url)


@cache
def receipts_queue() -> JobQueue:
    return JobQueue(get_settings().resources.receipts_queue_url)


@cache
def exports_queue() -> JobQueue:
    return JobQueue(get_settings().resources.exports_queue_url)


@cache
def export_files() -> ExportFiles:
    resources = get_settings().resources
    return ExportFiles(resources.exports_bucket, resources.exports_download_endpoint)
