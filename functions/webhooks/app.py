"""DynamoDB Stream of message items (each aggregate transition), of stored inbound messages and of
accounts with a low-balance threshold: webhook delivery jobs; and a final message's money
settled (DESIGN §10)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import repository, webhook_queue
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.settling import settle_if_final
from lisoloo.storage import message_change, stored_inbound, used_link
from lisoloo.storage.accounts import account_change
from lisoloo.webhooks.fanout import account_delivery_jobs, delivery_jobs, inbound_delivery_jobs, opt_out_delivery_jobs

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def handle_change(record: DynamoDBRecord) -> None:
    # Read at the edge by storage, which knows the item layout (the filter passes message items,
    # inbound messages as they are stored, opt-out links as they are used, and accounts that
    # have a low-balance threshold).
    images = record.raw_event["dynamodb"]
    change = message_change(images)
    account = account_change(images) if change is None else None
    now = datetime.now(UTC)
    if change is not None:
        settle_if_final(change, repository(), get_settings(), now)  # before the events: a failure retries both
        jobs = delivery_jobs(change, repository(), now)
    elif account is not None:
        old, new = account
        # The record's sequence number is its identity in the stream: a redelivery repeats it.
        sequence = images["SequenceNumber"]
        jobs = account_delivery_jobs(old, new, sequence, get_settings().money.currency, repository(), now)
    elif (inbound := stored_inbound(record.raw_event)) is not None:
        jobs = inbound_delivery_jobs(inbound, repository(), now)
    else:
        link = used_link(record.raw_event)
        jobs = opt_out_delivery_jobs(link, repository(), now) if link is not None else []
    if jobs:
        webhook_queue().enqueue(jobs)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_change, processor=processor, context=context)
