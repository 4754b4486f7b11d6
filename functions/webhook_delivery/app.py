"""SQS webhook deliveries: POST each signed event; failures come back later with backoff."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import repository, webhook_queue
from lisoloo.observability import logger, metrics, tracer
from lisoloo.queue_records import WebhookDeliveryRecord
from lisoloo.settings import get_settings
from lisoloo.webhooks.delivering import WebhookDeliveryFailedError, deliver

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.SQS, model=WebhookDeliveryRecord)


def handle_delivery(record: WebhookDeliveryRecord) -> None:
    attempt = int(record.attributes.ApproximateReceiveCount)
    try:
        deliver(record.body, repository(), settings, datetime.now(UTC), attempt=attempt)
    except WebhookDeliveryFailedError as failed:
        # Back off by making this job visible again later; the queue's redrive policy sends
        # it to the dead-letter queue after the last attempt.
        webhook_queue().delay(record.receiptHandle, failed.retry_in_seconds)
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_delivery, processor=processor, context=context)
