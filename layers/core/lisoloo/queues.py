"""SQS job queues: dispatch jobs (send → dispatch), receipts (endpoint → receipt-apply) and
webhook deliveries (fan-out → delivery)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import boto3
from pydantic import BaseModel

from lisoloo.observability import logger
from lisoloo.storage.table import attempts, aws_call

_SEND_BATCH_LIMIT = 10
# SQS's longest visibility timeout (12 hours).
_MAX_VISIBILITY_SECONDS = 43_200


class JobQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or boto3.client("sqs")

    def enqueue(self, jobs: Sequence[BaseModel]) -> None:
        """Every job queued, or StorageError (the SDK has retried the request already; the
        entries SQS refuses one by one are sent again)."""
        for start in range(0, len(jobs), _SEND_BATCH_LIMIT):
            entries = [
                {"Id": str(position), "MessageBody": job.model_dump_json()}
                for position, job in enumerate(jobs[start : start + _SEND_BATCH_LIMIT])
            ]
            self._send(entries)

    def _send(self, entries: list[dict[str, str]]) -> None:
        for _ in attempts(f"queueing {len(entries)} jobs"):
            response = aws_call(self.client.send_message_batch, QueueUrl=self.queue_url, Entries=entries)
            failed = {failure["Id"] for failure in response.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return

    def holds_jobs(self) -> bool:
        """Whether any job is waiting, in flight or delayed (SQS's approximate counts: a job
        sent a moment ago may not show yet)."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        response = aws_call(self.client.get_queue_attributes, QueueUrl=self.queue_url, AttributeNames=names)
        return any(int(response.get("Attributes", {}).get(name, 0)) for name in names)

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a received job visible again only after ``seconds``: a retry with backoff."""
        aws_call(
            self.client.change_message_visibility,
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(seconds, _MAX_VISIBILITY_SECONDS),
        )

    def delay_many(self, receipt_handles: Sequence[str], seconds: int) -> None:
        """``delay`` for many received jobs, ten a request. A handle SQS refuses (the job was
        received again meanwhile) is left as it is: its visibility timeout still runs out."""
        visibility = min(seconds, _MAX_VISIBILITY_SECONDS)
        for start in range(0, len(receipt_handles), _SEND_BATCH_LIMIT):
            entries = [
                {"Id": str(position), "ReceiptHandle": handle, "VisibilityTimeout": visibility}
                for position, handle in enumerate(receipt_handles[start : start + _SEND_BATCH_LIMIT])
            ]
            response = aws_call(self.client.change_message_visibility_batch, QueueUrl=self.queue_url, Entries=entries)
            if response.get("Failed"):
                logger.warning("visibility not changed", extra={"failed": response["Failed"]})
