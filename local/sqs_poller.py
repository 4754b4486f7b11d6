"""Lambda's SQS event source mapping, locally: poll, invoke with Lambda's records, delete.

Semantics kept from Lambda: a batch is up to ``BatchSize`` messages; above 10 (one
ReceiveMessage's most) the poller keeps receiving until the batch is full or
``MaximumBatchingWindowInSeconds`` has passed since its first message; with
``ReportBatchItemFailures`` only the messages not listed in ``batchItemFailures`` are
deleted; when the function fails nothing is deleted, so the messages come back after the
queue's visibility timeout and moto moves them to the dead-letter queue after
``maxReceiveCount`` receives; messages a ``FilterCriteria`` drops are deleted unprocessed.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.batch_responses import BatchOutcome, failed_item_ids
from local.event_filters import matches_any
from local.lambda_runtime import LocalFunction

logger = logging.getLogger("local.sqs")

# Long enough to not spin, short enough that Ctrl-C stops the stack within a second or so.
_WAIT_SECONDS = 1
_ERROR_BACKOFF_SECONDS = 1.0
_RECEIVE_LIMIT = 10
# While a batching window is open and the queue is momentarily empty.
_WINDOW_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class SqsEventSource:
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    reports_failures: bool = False
    filters: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    # ScalingConfig.MaximumConcurrency: the most batches Lambda invokes at once (None: no limit).
    maximum_concurrency: int | None = None

    @property
    def region(self) -> str:
        return self.queue_arn.split(":")[3]


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from a ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(attribute) for name, attribute in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API casing (StringValue, BinaryValue as bytes) to Lambda's (stringValue, base64)."""
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": attribute["DataType"],
    }
    if "StringValue" in attribute:
        converted["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        converted["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode()
    return converted


def _filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a filter pattern sees: the body as JSON when it is JSON (Lambda's rule), else the text."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        body = record["body"]
    return {**record, "body": body}


class SqsPoller:
    """``workers`` threads poll and invoke side by side, as Lambda runs up to MaximumConcurrency
    batches of one queue at once (each in an environment of the function's own)."""

    def __init__(
        self,
        source: SqsEventSource,
        function: LocalFunction,
        session: boto3.Session | None = None,
        *,
        workers: int = 1,
    ) -> None:
        self.source = source
        self.function = function
        self._sqs = (session or boto3.Session()).client("sqs")
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-{function.spec.logical_id}-{number}", daemon=True)
            for number in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_WAIT_SECONDS + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_seconds=_WAIT_SECONDS)
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("polling %s for %s failed", self.source.queue_arn, self.function.spec.logical_id)
                self._stop.wait(_ERROR_BACKOFF_SECONDS)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receives one batch and processes it; returns the number of messages received."""
        # Lambda's batching window: above 10 it gathers up to BatchSize for a while before invoking.
        messages = self._batch(
            wait_seconds,
            fill=self.source.batch_size > _RECEIVE_LIMIT,
            window_seconds=self.source.batching_window_seconds,
        )
        if messages:
            self.process(messages)
        return len(messages)

    def drain(self) -> list[BatchOutcome]:
        """Synchronously, until a receive comes back empty: batch after batch, each filled until
        it is full or the queue has no more (no window outlasts an idle queue here), whatever
        the batch size. For BatchSize ≤ 10 with no window, Lambda invokes after one receive;
        filling costs one more, empty, ReceiveMessage per partial batch (moto never returns
        fewer messages than it has), and `make bench` has always counted it. Messages the
        function failed stay invisible for the queue's visibility timeout: this drain does
        not see them again, a later one does once they are visible."""
        outcomes: list[BatchOutcome] = []
        while messages := self._batch(0, fill=True, window_seconds=0.0):
            outcome = self.process(messages)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _batch(self, wait_seconds: int, *, fill: bool, window_seconds: float) -> list[Mapping[str, Any]]:
        messages = self._receive(self.source.batch_size, wait_seconds)
        if messages and fill:
            window_ends = time.monotonic() + window_seconds
            while len(messages) < self.source.batch_size:
                more = self._receive(self.source.batch_size - len(messages), 0)
                messages.extend(more)
                if not more:
                    if time.monotonic() >= window_ends or self._stop.is_set():
                        break
                    time.sleep(_WINDOW_PAUSE_SECONDS)
        return messages

    def _receive(self, limit: int, wait_seconds: int) -> list[Mapping[str, Any]]:
        messages: list[Mapping[str, Any]] = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=max(1, min(limit, _RECEIVE_LIMIT)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def process(self, messages: Sequence[Mapping[str, Any]]) -> BatchOutcome | None:
        """Invokes the function with the messages the filters pass and deletes every message
        but those it failed; returns the invocation's outcome (None: the filters passed none)."""
        records = [sqs_record(message, self.source.queue_arn, self.source.region) for message in messages]
        selected = [record for record in records if matches_any(self.source.filters, _filter_view(record))]
        failed: set[str] = set()
        outcome = None
        if selected:
            invocation = self.function.invoke({"Records": selected})
            failed = failed_item_ids(
                invocation,
                [record["messageId"] for record in selected],
                reports_failures=self.source.reports_failures,
            )
            outcome = BatchOutcome(
                function=self.function.spec.logical_id,
                records=selected,
                invocation=invocation,
                failed=frozenset(failed),
                progressed=len(failed) < len(selected),
            )
            if invocation.error is not None:
                logger.error(
                    "%s failed on %d messages from %s (%s: %s); they return after the visibility timeout\n%s",
                    self.function.spec.logical_id,
                    len(selected),
                    self.source.queue_arn.rsplit(":", 1)[-1],
                    invocation.error.error_type,
                    invocation.error.message,
                    invocation.error.trace,
                )
            elif failed:
                logger.info(
                    "%s reported %d of %d messages failed; they return after the visibility timeout",
                    self.function.spec.logical_id,
                    len(failed),
                    len(selected),
                )
        done = [record for record in records if record["messageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(done[start : start + 10])
                ],
            )
        return outcome
