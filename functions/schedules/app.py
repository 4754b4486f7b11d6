"""DELETE /schedules/{schedule_id}: cancel the occurrences not yet released."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope, ScheduleCancelled
from lisoloo.observability import logger, metrics, tracer
from lisoloo.scheduling import cancel_schedule
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.delete(f"{API_PREFIX}/schedules/<schedule_id>")
def cancel(schedule_id: str) -> Envelope[ScheduleCancelled]:
    cancelled = cancel_schedule(repository(), current_caller(app).org_id, schedule_id, datetime.now(UTC))
    return Envelope(data=ScheduleCancelled(schedule_id=schedule_id, cancelled=cancelled))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
