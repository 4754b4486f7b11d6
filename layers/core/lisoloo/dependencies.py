"""The collaborators a function needs, built once per container on first use (never at import)."""

from __future__ import annotations

from functools import cache

from lisoloo.carriers import Carrier, carrier_named
from lisoloo.queues import JobQueue
from lisoloo.settings import get_settings
from lisoloo.storage import SmsRepository
from lisoloo.sweeping import Sweeper


@cache
def repository() -> SmsRepository:
    return SmsRepository(get_settings().table_name)


@cache
def dispatch_queue() -> JobQueue:
    return JobQueue(get_settings().dispatch_queue_url)


@cache
def carrier_connector(name: str) -> Carrier:
    return carrier_named(name, get_settings())


@cache
def sweeper() -> Sweeper:
    return Sweeper(
        repository=repository(),
        queue=dispatch_queue(),
        carrier_for=carrier_connector,
        settings=get_settings(),
    )


@cache
def webhook_queue() -> JobQueue:
    return JobQueue(get_settings().webhook_queue_url)
