"""GET /analytics/delivery: submitted, delivered, failed, delivery rate and receipt latency per group."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from lisoloo.analytics import read_delivery_analytics
from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.finding_models import DeliveryAnalytics
from lisoloo.models import Envelope
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()
DEFAULT_DAYS = 7


@app.get(f"{API_PREFIX}/analytics/delivery")
def delivery(
    group_by: Annotated[Literal["day", "country", "sender_id"], Query()] = "day",
    created_after: Annotated[AwareDatetime | None, Query(description="Its day is the first (UTC).")] = None,
    created_before: Annotated[AwareDatetime | None, Query(description="Exclusive; whole UTC days.")] = None,
) -> Envelope[DeliveryAnalytics]:
    before = created_before or datetime.now(UTC) + timedelta(days=1)
    after = created_after or before - timedelta(days=DEFAULT_DAYS)
    report = read_delivery_analytics(repository(), current_caller(app).org_id, group_by, after, before)
    return Envelope(data=report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
