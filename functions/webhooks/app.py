"""DynamoDB Stream of message items (each aggregate transition), of stored inbound messages, of
used opt-out links and of accounts with a low-balance threshold: webhook delivery jobs; and a
final message's money settled (DESIGN §10)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import repository, webhook_queue
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.table_stream import change_jobs

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def handle_change(record: DynamoDBRecord) -> None:
    # Read by the layer, which tells the record's item kind by the layout storage knows.
    jobs = change_jobs(record.raw_event, repository(), get_settings(), datetime.now(UTC))
    if jobs:
        webhook_queue().enqueue(jobs)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_change, processor=processor, context=context)
