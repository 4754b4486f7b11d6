"""EventBridge, every minute: do what has come due (releases, carrier retries, deadlines)."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.dependencies import sweeper
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    summary = sweeper().sweep(datetime.now(UTC), seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("sweep done", extra={"summary": asdict(summary), "scheduled_at": event.time})
    return asdict(summary)
