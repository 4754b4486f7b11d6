"""Delivery figures per group, kept as counters and latency histograms (pure; DESIGN §8, §11).

Generic over the grouping key: merchants' analytics group by day, country or sender id, route
quality by carrier and country. A latency is never kept as a sample: it lands in one of a fixed
set of buckets (upper bounds roughly doubling, from 250 ms to a day), so a group is a few
dozen integers however many recipients it counts, updated with ``ADD`` and merged by adding.
A percentile read back is exact to the bucket: it lies inside the bucket that holds the true
value, interpolated linearly within it.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# Upper bounds (inclusive) of the latency buckets, in milliseconds; the last bucket is open.
BUCKET_BOUNDS_MS: tuple[int, ...] = (
    250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 60_000, 120_000, 300_000,
    600_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000,
)  # fmt: skip
BUCKETS = len(BUCKET_BOUNDS_MS) + 1


def bucket_of(latency_ms: float) -> int:
    """The bucket a latency falls in: 0 for ≤ 250 ms … the last for over a day (negative: 0)."""
    return bisect.bisect_left(BUCKET_BOUNDS_MS, max(latency_ms, 0))


def bucket_range(bucket: int) -> tuple[float, float]:
    """(lower, upper] bounds of a bucket in ms; the open last bucket reports its lower bound twice."""
    lower = float(BUCKET_BOUNDS_MS[bucket - 1]) if bucket > 0 else 0.0
    upper = float(BUCKET_BOUNDS_MS[bucket]) if bucket < len(BUCKET_BOUNDS_MS) else lower
    return lower, upper


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` (0 < f ≤ 1) percentile of the latencies a histogram counts, interpolated
    inside its bucket; None when it counts nothing."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = fraction * total  # the rank-th smallest latency, 1-based, fractional inside a bucket
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count <= 0:
            continue
        if seen + count >= rank:
            lower, upper = bucket_range(bucket)
            return lower + (upper - lower) * max(rank - seen, 0) / count
        seen += count
    return bucket_range(max(histogram))[1]


@dataclass
class GroupFigures:
    """One group's counters: recipients handed to a carrier, final outcomes, receipt latencies."""

    submitted: int = 0
    delivered: int = 0
    failed: int = 0
    latency: Counter[int] = field(default_factory=Counter)

    def __add__(self, other: GroupFigures) -> GroupFigures:
        return GroupFigures(
            submitted=self.submitted + other.submitted,
            delivered=self.delivered + other.delivered,
            failed=self.failed + other.failed,
            latency=self.latency + other.latency,
        )

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among final outcomes (None before any)."""
        finals = self.delivered + self.failed
        return self.delivered / finals if finals else None

    def latency_ms(self, fraction: float) -> float | None:
        return percentile(self.latency, fraction)

    def is_empty(self) -> bool:
        return not (self.submitted or self.delivered or self.failed)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one recipient adds: handed off, or finished (delivered or not), with its latency."""

    submitted: bool = False
    delivered: bool = False
    failed: bool = False
    latency_ms: float | None = None

    def figures(self) -> GroupFigures:
        latency = Counter({bucket_of(self.latency_ms): 1}) if self.latency_ms is not None else Counter()
        return GroupFigures(int(self.submitted), int(self.delivered), int(self.failed), latency)


def tally(
    items: Iterable[T], keys: Callable[[T], Iterable[K]], outcome: Callable[[T], Outcome]
) -> dict[K, GroupFigures]:
    """Each item's outcome added to every group ``keys`` puts it in: one entry per distinct
    group, so a batch costs one write per group, not per item."""
    groups: dict[K, GroupFigures] = {}
    for item in items:
        figures = outcome(item).figures()
        for key in keys(item):
            groups[key] = groups.get(key, GroupFigures()) + figures
    return groups


def merge(parts: Iterable[Mapping[K, GroupFigures]]) -> dict[K, GroupFigures]:
    merged: dict[K, GroupFigures] = {}
    for part in parts:
        for key, figures in part.items():
            merged[key] = merged.get(key, GroupFigures()) + figures
    return merged
