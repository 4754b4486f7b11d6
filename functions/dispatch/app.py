"""SQS dispatch jobs: claim and submit one chunk of a message's recipients per record."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from lisoloo.dependencies import carrier_connector, repository
from lisoloo.dispatching import CarrierUnavailableError, dispatch_chunk
from lisoloo.models import DispatchJobRecord
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS, model=DispatchJobRecord)


@tracer.capture_method
def handle_job(record: DispatchJobRecord) -> None:
    summary = dispatch_chunk(
        record.body,
        repository=repository(),
        carrier=carrier_connector(get_settings().carrier),
        now=datetime.now(UTC),
    )
    logger.info("chunk dispatched", extra={"job": record.body.model_dump(), "summary": summary})
    if summary.transient:
        # Report this record failed: SQS redelivers it and the stale claims are submitted again.
        raise CarrierUnavailableError(f"{summary.transient} recipients hit a transient carrier failure")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=handle_job, processor=processor, context=context
    )
