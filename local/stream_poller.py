"""Lambda's DynamoDB Streams event source mapping, locally.

Semantics kept from Lambda: records are read per shard in order, from the template's
``StartingPosition`` (LATEST unless it says TRIM_HORIZON; shards found later are read from
their start); a batch that fails is retried, in order, before anything after it, so a shard
never skips ahead; with ``ReportBatchItemFailures`` the retry resumes at the lowest
``itemIdentifier`` (a sequence number) reported; ``BisectBatchOnFunctionError`` halves a
batch the function failed on (splits do not count as retries); ``MaximumRetryAttempts``
(-1, the default, means until the record expires) gives a batch up after that many retries,
sending Lambda's invocation record to the ``OnFailure`` SQS destination if there is one.
Records a ``FilterCriteria`` drops are skipped. Not simulated: parallelization factor,
batching windows (the synchronous ``drain()`` fills batches across reads, as one would),
record age limits.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from local.batch_responses import BatchOutcome, failed_item_ids
from local.event_filters import matches_any
from local.lambda_runtime import LocalFunction

logger = logging.getLogger("local.streams")

_IDLE_SECONDS = 0.25
_RETRY_SECONDS = 1.0
_SHARD_REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class StreamEventSource:
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    reports_failures: bool = False
    maximum_retry_attempts: int = -1
    bisect_on_error: bool = False
    on_failure_queue_url: str | None = None
    filters: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB event from a GetRecords record (as boto3 returns it:
    datetimes and bytes become epoch seconds and base64, as in Lambda's JSON)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    converted: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record.get("awsRegion", stream_arn.split(":")[3]),
        "dynamodb": _json_safe(dynamodb),
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        converted["userIdentity"] = record["userIdentity"]
    return converted


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_safe(item) for item in value]
    return value


@dataclass
class _ShardState:
    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    # Set by bisecting after a function error; a delivered batch restores the configured size.
    batch_limit: int | None = None


class StreamPoller:
    def __init__(
        self,
        source: StreamEventSource,
        function: LocalFunction,
        session: boto3.Session | None = None,
        retry_delay: float = _RETRY_SECONDS,
        observe: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.source = source
        self.function = function
        self.retry_delay = retry_delay
        # Sees every record the filters pass, as it is read (the local stack's progress line).
        self._observe = observe
        session = session or boto3.Session()
        self._streams = session.client("dynamodbstreams")
        self._sqs = session.client("sqs") if source.on_failure_queue_url else None
        self._shards: dict[str, _ShardState] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{function.spec.logical_id}", daemon=True)

    def start(self) -> None:
        # Positions are taken now, not when the thread first runs, so LATEST means "from start()".
        self.refresh_shards(first=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.retry_delay + 5)

    def _run(self) -> None:
        refreshed_at = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() - refreshed_at >= _SHARD_REFRESH_SECONDS:
                    self.refresh_shards()
                    refreshed_at = time.monotonic()
                worked = self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("reading %s for %s failed", self.source.stream_arn, self.function.spec.logical_id)
                worked = False
            if not worked:
                self._stop.wait(_IDLE_SECONDS)

    def refresh_shards(self, first: bool = False) -> None:
        description = self._streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            position = self.source.starting_position if first else "TRIM_HORIZON"
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.source.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self._shards[shard_id] = _ShardState(shard_id=shard_id, iterator=iterator)

    def skip_to_latest(self) -> None:
        """Every shard read from its end on, dropping what is pending: what was written until
        now never reaches the function (the bench's set-up writes)."""
        self.refresh_shards()
        for state in self._shards.values():
            state.iterator = self._streams.get_shard_iterator(
                StreamArn=self.source.stream_arn, ShardId=state.shard_id, ShardIteratorType="LATEST"
            )["ShardIterator"]
            state.pending, state.attempts, state.batch_limit = [], 0, None

    def poll_once(self) -> bool:
        """One step on every shard: fetch when nothing is pending, then deliver a batch.
        Returns whether any shard had records."""
        worked = False
        for state in self._shards.values():
            if not state.pending:
                self._fetch(state)
            if state.pending:
                worked = True
                self._deliver(state)
        return worked

    def drain(self) -> list[BatchOutcome]:
        """Synchronously, until every shard is read to its end: batch after batch, each filled
        from as many reads as it takes to hold BatchSize records the filters pass, or as many as
        the shard has (the batching window, which cannot outlast a shard with nothing more to
        read here). A failed batch ends its shard's drain; it is retried on the next drain (as
        Lambda retries it after a wait), so MaximumRetryAttempts counts drains. Meant for moto,
        whose GetRecords comes back empty only at the end of a shard."""
        self.refresh_shards()
        outcomes: list[BatchOutcome] = []
        for state in self._shards.values():
            while True:
                while len(state.pending) < self.source.batch_size and self._fetch(state):
                    pass
                if not state.pending:
                    break
                outcome = self._deliver(state)
                outcomes.append(outcome)
                if outcome.failed:
                    break
        return outcomes

    def _fetch(self, state: _ShardState) -> bool:
        """Reads the shard's next records into ``pending`` (those the filters pass); returns
        whether there were any records to read."""
        if state.iterator is None:
            return False
        response = self._streams.get_records(ShardIterator=state.iterator, Limit=self.source.batch_size)
        state.iterator = response.get("NextShardIterator")
        records = [stream_record(record, self.source.stream_arn) for record in response["Records"]]
        passed = [record for record in records if matches_any(self.source.filters, record)]
        if self._observe is not None:
            for record in passed:
                self._observe(record)
        state.pending.extend(passed)
        return bool(records)

    def _deliver(self, state: _ShardState) -> BatchOutcome:
        batch = state.pending[: state.batch_limit or self.source.batch_size]
        invocation = self.function.invoke({"Records": batch})
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = failed_item_ids(invocation, sequence_numbers, reports_failures=self.source.reports_failures)

        def outcome(progressed: bool) -> BatchOutcome:
            return BatchOutcome(self.function.spec.logical_id, batch, invocation, frozenset(failed), progressed)

        if not failed:
            state.pending = state.pending[len(batch) :]
            state.attempts = 0
            state.batch_limit = None
            return outcome(progressed=True)
        # Everything before the first failed record is done (Lambda's checkpoint); retry from it.
        first_failed = min(sequence_numbers.index(number) for number in failed)
        state.pending = state.pending[first_failed:]
        retrying = batch[first_failed:]
        if invocation.error is not None:
            logger.error(
                "%s failed on %d stream records (%s: %s)\n%s",
                self.function.spec.logical_id,
                len(batch),
                invocation.error.error_type,
                invocation.error.message,
                invocation.error.trace,
            )
            if self.source.bisect_on_error and len(retrying) > 1:
                state.batch_limit = len(retrying) // 2
                self._stop.wait(self.retry_delay)
                return outcome(progressed=first_failed > 0)
        state.attempts += 1
        if 0 <= self.source.maximum_retry_attempts < state.attempts:
            self._give_up(state, retrying, invocation.request_id, function_error=invocation.error is not None)
            state.pending = state.pending[len(retrying) :]
            state.attempts = 0
            state.batch_limit = None
            return outcome(progressed=True)
        self._stop.wait(self.retry_delay)
        return outcome(progressed=first_failed > 0)

    def _give_up(
        self, state: _ShardState, records: list[dict[str, Any]], request_id: str, *, function_error: bool
    ) -> None:
        logger.error(
            "%s: %d stream records given up after %d retries%s",
            self.function.spec.logical_id,
            len(records),
            self.source.maximum_retry_attempts,
            "; their batch info goes to the on-failure queue" if self._sqs else "",
        )
        if self._sqs is None or self.source.on_failure_queue_url is None:
            return
        self._sqs.send_message(
            QueueUrl=self.source.on_failure_queue_url,
            MessageBody=json.dumps(
                failure_record(
                    records,
                    stream_arn=self.source.stream_arn,
                    shard_id=state.shard_id,
                    function_arn=self.function.spec.arn,
                    request_id=request_id,
                    attempts=state.attempts,
                    function_error=function_error,
                )
            ),
        )


def failure_record(
    records: Sequence[Mapping[str, Any]],
    *,
    stream_arn: str,
    shard_id: str,
    function_arn: str,
    request_id: str,
    attempts: int,
    function_error: bool,
) -> dict[str, Any]:
    """Lambda's invocation record for an on-failure destination of a stream source: it points
    at the records (shard and sequence numbers), it does not carry them."""

    def arrival(record: Mapping[str, Any]) -> str | None:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return None if created is None else datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response_context["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
