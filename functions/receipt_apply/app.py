"""SQS receipts queue: apply a batch of parsed carrier receipts, grouped by message."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from lisoloo.dependencies import receipts_queue, repository
from lisoloo.observability import logger, metrics, tracer
from lisoloo.queue_records import ReceiptJobRecord
from lisoloo.receipts import QueuedJob, ReceiptsNotAppliedError, apply_receipt_jobs
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.SQS, model=ReceiptJobRecord)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # The whole batch is applied at once (a message's receipts share transactions); the
    # processor then reports, record by record, the jobs that could not be applied.
    jobs: list[QueuedJob] = []
    handles: dict[str, str] = {}  # SQS message id -> receipt handle
    for raw in event.get("Records", []):
        try:
            record = ReceiptJobRecord.model_validate(raw)
        except ValidationError:
            continue  # the processor reports it failed
        jobs.append(QueuedJob(record.messageId, int(record.attributes.ApproximateReceiveCount), record.body))
        handles[record.messageId] = record.receiptHandle
    outcome = apply_receipt_jobs(
        repository(),
        jobs,
        datetime.now(UTC),
        settings,
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    logger.info("receipts applied", extra={"jobs": len(jobs), "summary": outcome.summary})
    # Jobs the time ran out on were not tried: handed out again now, not after the visibility timeout.
    receipts_queue().delay_many([handles[job_id] for job_id in sorted(outcome.unfinished)], 0)

    def settled(record: ReceiptJobRecord) -> None:
        if record.messageId in outcome.failed or record.messageId in outcome.unfinished:
            raise ReceiptsNotAppliedError(record.messageId)

    return process_partial_response(event=event, record_handler=settled, processor=processor, context=context)
