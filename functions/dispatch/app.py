"""SQS dispatch jobs: claim and submit one chunk of a message's recipients per record."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import repository, routing, usable_carrier
from lisoloo.dispatching import dispatch_chunk
from lisoloo.observability import logger, metrics, tracer
from lisoloo.queue_records import DispatchJobRecord
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.SQS, model=DispatchJobRecord)
carrier_connector = usable_carrier  # the carrier lookup dispatch submits through (tests swap it)


@tracer.capture_method
def handle_job(record: DispatchJobRecord) -> None:
    summary = dispatch_chunk(
        record.body,
        repository=repository(),
        routing=routing(carrier_connector),
        settings=settings,
        now=datetime.now(UTC),
    )
    logger.info("chunk dispatched", extra={"job": record.body.model_dump(), "summary": summary})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_job, processor=processor, context=context)
