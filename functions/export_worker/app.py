"""SQS export jobs: write one export's file to S3 and mark it done."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import export_files, repository
from lisoloo.exporting import write_export
from lisoloo.observability import logger, metrics, tracer
from lisoloo.queue_records import ExportJobRecord
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.SQS, model=ExportJobRecord)


def handle_job(record: ExportJobRecord) -> None:
    rows = write_export(repository(), export_files(), record.body, datetime.now(UTC))
    logger.info("export written", extra={"export_id": record.body.export_id, "rows": rows})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_job, processor=processor, context=context)
