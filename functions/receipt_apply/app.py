"""SQS receipts queue: apply a batch of parsed carrier receipts, grouped by message."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from lisoloo.dependencies import repository
from lisoloo.observability import logger, metrics, tracer
from lisoloo.queue_records import ReceiptJobRecord
from lisoloo.receipts import ReceiptsNotAppliedError, apply_receipt_jobs
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.SQS, model=ReceiptJobRecord)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # The whole batch is applied at once (a message's receipts share transactions); the
    # processor then reports, record by record, the jobs that could not be applied.
    jobs = {}
    for raw in event.get("Records", []):
        try:
            record = ReceiptJobRecord.model_validate(raw)
        except ValidationError:
            continue  # the processor reports it failed
        jobs[record.messageId] = record.body
    outcome = apply_receipt_jobs(repository(), jobs, datetime.now(UTC), settings)
    logger.info("receipts applied", extra={"jobs": len(jobs), "summary": outcome.summary})

    def settled(record: ReceiptJobRecord) -> None:
        if record.messageId in outcome.failed:
            raise ReceiptsNotAppliedError(record.messageId)

    return process_partial_response(event=event, record_handler=settled, processor=processor, context=context)
