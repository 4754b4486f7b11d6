"""Submitting to one carrier of a route: is it usable (configured, enabled, its breaker
closed), at what pace (its ``tps`` across every dispatcher), and what its answers say about
the carrier's health. Dispatch decides where each recipient goes; this says how it went."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.breaker import CircuitBreakers
from lisoloo.carriers import Carrier, Submission, SubmitOutcome, SubmitResult
from lisoloo.observability import logger, metrics
from lisoloo.routing import Route

# Wanted submissions a paced carrier could not take before this many seconds: not sent, so
# they fail over (or wait for the retry schedule) like a carrier that is busy.
DEFAULT_PACING_WAIT_SECONDS = 10.0


def _not_taken(batch: Sequence[Submission], reason: str) -> list[SubmitResult]:
    return [SubmitResult(submission.reference, SubmitOutcome.TRANSIENT, error_message=reason) for submission in batch]


@dataclass
class Routing:
    """What dispatch routes with. ``carrier_for`` gives an enabled carrier's connector (None:
    unknown or disabled); ``tps_of`` its pace; ``acquire(carrier, tps, wanted, give_up_at)``
    grants submissions from the shared pacing counters; ``default_carrier`` is the implicit
    ``*`` route of a stack upgraded from one carrier (routing.plan_routes)."""

    routes: Callable[[], Sequence[Route]]
    carrier_for: Callable[[str], Carrier | None]
    default_carrier: str | None
    breakers: CircuitBreakers
    tps_of: Callable[[str], int | None] = lambda name: None
    acquire: Callable[[str, int, int, float], int] | None = None
    pacing_wait_seconds: float = DEFAULT_PACING_WAIT_SECONDS
    clock: Callable[[], float] = field(default=time.monotonic)

    def usable_first(self, order: tuple[str, ...]) -> tuple[str, ...]:
        """``order`` with the carriers known to be skipped now (disabled, unknown, breaker
        open) moved last: a recipient is then claimed for a carrier that will be asked, and
        costs no fail-over write."""
        now = self.clock()
        usable = tuple(n for n in order if self.carrier_for(n) is not None and not self.breakers.is_open(n, now))
        return usable + tuple(name for name in order if name not in usable)

    def submit(self, carrier: str, batch: Sequence[Submission]) -> list[SubmitResult]:
        """One result per submission, in order; a carrier not asked answers ``TRANSIENT``
        (definitely not taken) for all."""
        return [result for result, _ in self.submit_timed(carrier, batch)]

    def submit_timed(self, carrier: str, batch: Sequence[Submission]) -> list[tuple[SubmitResult, float]]:
        """``submit``, each result with the ``clock`` reading when it was known: a paced batch
        goes in blocks, up to ``pacing_wait_seconds`` apart."""
        connector = self.carrier_for(carrier)
        if connector is None:
            return self._at_once(_not_taken(batch, "carrier unknown or disabled"))
        if not self.breakers.allows(carrier, self.clock()):
            return self._at_once(_not_taken(batch, "carrier skipped: circuit open"))
        results: list[tuple[SubmitResult, float]] = []
        tps = self.tps_of(carrier)
        remaining = list(batch)
        give_up_at = time.time() + self.pacing_wait_seconds
        while remaining:
            block = len(remaining)
            if tps is not None and self.acquire is not None:
                block = self.acquire(carrier, tps, len(remaining), give_up_at)
                if block == 0:
                    results += self._at_once(_not_taken(remaining, "not sent: the carrier's pace is spent"))
                    break
            sent, remaining = remaining[:block], remaining[block:]
            answered = connector.submit(sent)
            self._observe(carrier, answered)
            results += self._at_once(answered)
        return results

    def _at_once(self, results: Sequence[SubmitResult]) -> list[tuple[SubmitResult, float]]:
        now = self.clock()
        return [(result, now) for result in results]

    def _observe(self, carrier: str, results: Sequence[SubmitResult]) -> None:
        accepted = sum(1 for result in results if result.outcome is SubmitOutcome.ACCEPTED)
        # A rejection is the message's fault, not the carrier's: it proves the carrier answers.
        answered = accepted + sum(1 for result in results if result.outcome is SubmitOutcome.REJECTED)
        failed = len(results) - answered
        if self.breakers.record(carrier, succeeded=answered, failed=failed, now=self.clock()):
            logger.warning("carrier circuit opened", extra={"carrier": carrier})
            metrics.add_metric(name="CarrierCircuitOpened", unit=MetricUnit.Count, value=1)
