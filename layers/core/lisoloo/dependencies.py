"""The collaborators a function needs, built once per container on first use (never at import)."""

from __future__ import annotations

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
    from lisoloo.carrier_tokens import CarrierTokens
    from lisoloo.carriers import Carrier
    from lisoloo.sweeping import Sweeper


@cache
def repository() -> SmsRepository:
    return SmsRepository(get_settings().resources.table_name)


@cache
def dispatch_queue() -> JobQueue:
    return JobQueue(get_settings().resources.dispatch_queue_url)


@cache
def carrier_connector(name: str) -> Carrier:
    from lisoloo.carriers import carrier_named

    return carrier_named(name, get_settings().carriers)


@cache
def sweeper() -> Sweeper:
    from lisoloo.sweeping import Sweeper

    return Sweeper(
        repository=repository(),
        queue=dispatch_queue(),
        carrier_for=carrier_connector,
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
