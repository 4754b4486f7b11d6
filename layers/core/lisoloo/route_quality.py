"""Route quality (DESIGN §8): counted as carriers take recipients and as they finish, read back
per carrier and country, and judged by the sweep, which demotes and restores carriers.

Counted where the facts are, never by scanning: a hand-off where dispatch records it
(``submit_routed``), a final receipt or the deadline's 1503 where the move is applied
(``analytics.count_outcomes``, only the moves the transaction applied, so a redelivered batch
adds nothing). Each batch writes once per distinct (carrier, bucket, country). The latency is
per recipient, from its hand-off (``handed_off_at`` on its row: when the carrier's answer that
took it came back, however long pacing or failover held it in its dispatch run; one batched
read per 100 finals) to the receipt reaching our endpoint (not its application, after the
queue), so a fast receipt reads as fast however large its message.

The verdict lives on the carrier's configuration item (``demoted``), where dispatchers already
read it, kept for ``CARRIER_CONFIG_CACHE_SECONDS``: a demotion reaches every dispatcher within
that, like a ``carriers disable``. The sweep judges every configured carrier once a run (one
Query per carrier); only the write that changes a carrier's state logs and counts the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.entities import RecipientKey, Transition
from lisoloo.errors import ErrorCode
from lisoloo.observability import logger, metrics
from lisoloo.phone import country_of
from lisoloo.quality_rules import (
    Judgement,
    RouteFigures,
    bucket_start,
    handed_off,
    judge,
    no_final_receipt,
    receipt,
    recent,
    refused_at_submit,
)
from lisoloo.settings import QualitySettings, get_settings
from lisoloo.storage import SmsRepository
from lisoloo.storage.route_quality import QualityKey

# Buckets stay this long past the window before TTL removes them (nothing relies on it).
KEPT_PAST_WINDOW = timedelta(days=1)


def _add(
    repository: SmsRepository,
    counted: Iterable[tuple[QualityKey, RouteFigures]],
    now: datetime,
    quality: QualitySettings,
) -> None:
    groups: dict[QualityKey, RouteFigures] = {}
    for key, figures in counted:
        groups[key] = groups.get(key, RouteFigures()) + figures
    if groups:
        window = timedelta(seconds=quality.route_quality_bucket_seconds * quality.route_quality_window_buckets)
        repository.route_quality.add(groups, now + window + KEPT_PAST_WINDOW)


def count_handoffs(
    repository: SmsRepository, taken: Sequence[tuple[str, str]], refused: Sequence[tuple[str, str]], now: datetime
) -> None:
    """``(carrier, number)`` for each recipient a carrier has just taken, and just not taken."""
    quality = get_settings().quality
    bucket = bucket_start(now, quality.route_quality_bucket_seconds)
    counted = [((carrier, bucket, country_of(number)), handed_off()) for carrier, number in taken]
    counted += [((carrier, bucket, country_of(number)), refused_at_submit()) for carrier, number in refused]
    _add(repository, counted, now, quality)


def count_finals(repository: SmsRepository, moves: Sequence[Transition], numbers: Mapping[RecipientKey, str]) -> None:
    """The carriers' share of applied final moves: a receipt (``carrier`` set) for the carrier
    that sent it, the deadline's 1503 for the carrier that took the recipient and never said."""
    judged = [
        move
        for move in moves
        if move.key in numbers and (move.carrier is not None or move.error_code is ErrorCode.SMS_TIMEOUT)
    ]
    if not judged:
        return
    quality = get_settings().quality
    handoffs = repository.recipients.handoffs_of(move.key for move in judged)
    counted: list[tuple[QualityKey, RouteFigures]] = []
    for move in judged:
        took = handoffs.get(move.key)
        bucket = bucket_start(move.at, quality.route_quality_bucket_seconds)
        country = country_of(numbers[move.key])
        if move.carrier is not None:
            # A receipt that outran the record of its hand-off (the row has no hand-off time)
            # came faster than we could write down that the carrier took it: latency 0.
            arrived = move.received_at or move.at  # when it reached us, not when it was applied
            latency = (arrived - took[1]).total_seconds() * 1000 if took else 0.0
            figures = receipt(delivered=move.status.is_success, latency_ms=latency)
            counted.append(((move.carrier, bucket, country), figures))
        elif took is not None:  # only recipients a carrier took can lack its receipt
            counted.append(((took[0], bucket, country), no_final_receipt()))
    _add(repository, counted, max(move.at for move in judged), quality)


@dataclass(frozen=True, slots=True)
class RouteStats:
    carrier: str
    country: str
    figures: RouteFigures


def route_stats(
    repository: SmsRepository, carriers: Iterable[str], since: datetime, *, country: str | None = None
) -> list[RouteStats]:
    """Each carrier's figures per country, summed over the buckets begun since ``since``;
    ``country`` keeps one. (Any bucket size reads the same: the operator's tool need not know it.)"""
    stats: list[RouteStats] = []
    for carrier in carriers:
        by_country: dict[str, RouteFigures] = {}
        for (_, where), figures in repository.route_quality.read(carrier, bucket_start(since, 1)).items():
            if country is None or where == country:
                by_country[where] = by_country.get(where, RouteFigures()) + figures
        stats += [RouteStats(carrier, where, by_country[where]) for where in sorted(by_country)]
    return stats


def recent_figures(repository: SmsRepository, carrier: str, now: datetime, quality: QualitySettings) -> RouteFigures:
    """The carrier's recent figures, all countries: what it is judged on."""
    seconds = quality.route_quality_bucket_seconds
    first = bucket_start(now - timedelta(seconds=seconds * (quality.route_quality_window_buckets - 1)), seconds)
    by_bucket: dict[str, RouteFigures] = {}
    for (bucket, _), figures in repository.route_quality.read(carrier, first).items():
        by_bucket[bucket] = by_bucket.get(bucket, RouteFigures()) + figures
    return recent(by_bucket, quality.route_demotion_min_finals)


@dataclass(frozen=True, slots=True)
class Change:
    carrier: str
    judgement: Judgement


def review_carriers(repository: SmsRepository, now: datetime) -> list[Change]:
    """Judge every configured carrier on its recent finals; demote or restore those whose
    verdict changed. Returns the changes this run made."""
    quality = get_settings().quality
    thresholds = quality.thresholds()
    changes: list[Change] = []
    for config in repository.carriers.configs():
        judgement = judge(recent_figures(repository, config.name, now, quality), config.demoted, thresholds)
        if judgement.demoted == config.demoted:
            continue
        if not repository.carriers.set_demoted(config.name, judgement.demoted, judgement.reason, now):
            continue  # another sweep made this change first
        changes.append(Change(config.name, judgement))
        name = "CarrierDemoted" if judgement.demoted else "CarrierRestored"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        log = logger.warning if judgement.demoted else logger.info
        log(
            "carrier demoted" if judgement.demoted else "carrier restored",
            extra={"carrier": config.name, "reason": judgement.reason},
        )
    return changes
