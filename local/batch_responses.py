"""Lambda's reading of a batch consumer's answer (``ReportBatchItemFailures``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.lambda_runtime import Invocation


@dataclass(frozen=True)
class BatchOutcome:
    """One batch an event source handed its function, and what Lambda made of the answer."""

    function: str  # the function's logical id
    records: Sequence[Mapping[str, Any]]
    invocation: Invocation
    # Message ids (SQS) or sequence numbers (streams) Lambda treats as failed.
    failed: frozenset[str]
    # Whether the source moved on at all: a message deleted, a shard checkpointed past a
    # record or giving a batch up. Without that, delivering again would only repeat this.
    progressed: bool


def failed_item_ids(invocation: Invocation, item_ids: Collection[str], *, reports_failures: bool) -> set[str]:
    """The items of a batch that failed, as Lambda decides for SQS and stream sources.

    A function error fails the whole batch. Without ``ReportBatchItemFailures`` anything else
    is success. With it: a null or empty answer or ``batchItemFailures`` is success; an answer
    that is not an object, or an ``itemIdentifier`` that is empty, null or not in the batch,
    fails the whole batch (AWS docs, "Reporting batch item failures").
    """
    everything = set(item_ids)
    if invocation.error is not None:
        return everything
    if not reports_failures or invocation.result is None:
        return set()
    if not isinstance(invocation.result, dict):
        return everything
    failures = invocation.result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed
