"""Route quality and demotion, the rules (DESIGN §8). Pure: no I/O.

Per carrier and country, figures are kept in time buckets (``ROUTE_QUALITY_BUCKET_SECONDS``,
an hour by default) over a window of the newest ``ROUTE_QUALITY_WINDOW_BUCKETS`` (a day): a
bucket is a handful of counters and a latency histogram (``histograms``), updated with ``ADD``
and dropped from view as it ages out, so "rolling" costs no scan and no delete.

A carrier is judged on its *recent* finals: the newest buckets, summed back in time until
they hold at least ``min_finals`` (``N ≥ 200`` by default), at most the whole window. Below
that many finals there is nothing to judge, and a demoted carrier comes back on probation:
it gets traffic again and is judged afresh. That is also how a demoted carrier that now gets
little traffic recovers at all: its bad buckets age out of the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from lisoloo.histograms import bucket_of, percentile

# A delivered receipt this soon after the carrier took the message is implausible (a handset
# cannot have received it yet): the mark of receipts a carrier invents.
FAST_RECEIPT_MS = 1_000


@dataclass
class RouteFigures:
    """One carrier's figures for one country and bucket (or any sum of them).

    ``submitted`` counts recipients the carrier took, ``refused`` those it did not take when
    asked (they went on to the next carrier, or waited for a retry); ``failed`` final receipts
    that were not ``delivered``; ``no_final`` recipients the carrier took and never reported on
    (the deadline's 1503); ``fast`` delivered receipts under ``FAST_RECEIPT_MS`` after the
    hand-off; ``latency`` every receipt's latency."""

    submitted: int = 0
    delivered: int = 0
    failed: int = 0
    no_final: int = 0
    fast: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    # Not taken at submit (refused, unanswered, or skipped: breaker open, disabled, paced out).
    refused: int = 0

    def __add__(self, other: RouteFigures) -> RouteFigures:
        return RouteFigures(
            refused=self.refused + other.refused,
            submitted=self.submitted + other.submitted,
            delivered=self.delivered + other.delivered,
            failed=self.failed + other.failed,
            no_final=self.no_final + other.no_final,
            fast=self.fast + other.fast,
            latency=self.latency + other.latency,
        )

    @property
    def finals(self) -> int:
        return self.delivered + self.failed + self.no_final

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among everything that ended (a carrier that never reports counts against it)."""
        return self.delivered / self.finals if self.finals else None

    @property
    def fast_share(self) -> float | None:
        """The share of delivered receipts that came implausibly fast."""
        return self.fast / self.delivered if self.delivered else None

    def latency_ms(self, fraction: float) -> float | None:
        return percentile(self.latency, fraction)

    def counters(self) -> dict[str, int]:
        """The non-zero counters, by the names storage keeps them under."""
        named = {
            "refused": self.refused,
            "submitted": self.submitted,
            "delivered": self.delivered,
            "failed": self.failed,
            "no_final": self.no_final,
            "fast": self.fast,
            **{f"latency_{bucket}": count for bucket, count in self.latency.items()},
        }
        return {name: count for name, count in named.items() if count}


def handed_off() -> RouteFigures:
    return RouteFigures(submitted=1)


def refused_at_submit() -> RouteFigures:
    return RouteFigures(refused=1)


def receipt(*, delivered: bool, latency_ms: float | None) -> RouteFigures:
    """A final receipt; ``latency_ms`` from the carrier taking the message (None: not known)."""
    if latency_ms is None:
        return RouteFigures(delivered=int(delivered), failed=int(not delivered))
    return RouteFigures(
        delivered=int(delivered),
        failed=int(not delivered),
        fast=int(delivered and latency_ms < FAST_RECEIPT_MS),
        latency=Counter({bucket_of(latency_ms): 1}),
    )


def no_final_receipt() -> RouteFigures:
    return RouteFigures(no_final=1)


def bucket_start(moment: datetime, bucket_seconds: int) -> str:
    """The bucket a moment falls in, as its start (UTC, sortable text)."""
    seconds = int(moment.timestamp()) // bucket_seconds * bucket_seconds
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%SZ}"


def recent(buckets: Mapping[str, RouteFigures], min_finals: int) -> RouteFigures:
    """The newest buckets summed back in time until they hold ``min_finals`` finals (or all)."""
    total = RouteFigures()
    for start in sorted(buckets, reverse=True):
        total = total + buckets[start]
        if total.finals >= min_finals:
            break
    return total


@dataclass(frozen=True, slots=True)
class DemotionThresholds:
    """Demote below ``delivery_rate`` or above ``fast_share``, judged on ≥ ``min_finals``
    finals; a demoted carrier recovers only ``margin`` inside both, so it does not flap."""

    min_finals: int = 200
    delivery_rate: float = 0.6
    fast_share: float = 0.3
    margin: float = 0.05


class Verdict(StrEnum):
    NORMAL = "normal"
    DEMOTED = "demoted"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str

    @property
    def demoted(self) -> bool:
        return self.verdict is Verdict.DEMOTED


def judge(figures: RouteFigures, demoted: bool, thresholds: DemotionThresholds) -> Judgement:
    """Whether a carrier is demoted now, from its recent figures and whether it was demoted."""
    if figures.finals < thresholds.min_finals:
        return Judgement(Verdict.NORMAL, f"{figures.finals} recent finals, fewer than {thresholds.min_finals} to judge")
    rate = figures.delivery_rate or 0.0
    fast = figures.fast_share or 0.0
    # A demoted carrier must clear the thresholds by the margin to come back.
    slack = thresholds.margin if demoted else 0.0
    if rate < thresholds.delivery_rate + slack:
        return Judgement(Verdict.DEMOTED, f"delivery rate {rate:.2f} over {figures.finals} finals")
    if fast > thresholds.fast_share - slack:
        return Judgement(Verdict.DEMOTED, f"fast receipts {fast:.2f} of {figures.delivered} delivered")
    return Judgement(Verdict.NORMAL, f"delivery rate {rate:.2f}, fast receipts {fast:.2f}")
