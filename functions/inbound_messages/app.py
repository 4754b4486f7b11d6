"""GET /inbound: an organization's inbound messages, newest first."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator, Field

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.inbound_listing import list_inbound
from lisoloo.models import Envelope, ascii_digits
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.two_way_models import INBOUND_CURSOR, InboundPage

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/inbound")
def show(
    limit: Annotated[int, Field(ge=1, le=1_000), BeforeValidator(ascii_digits), Query()] = 100,
    cursor: Annotated[str | None, Query(pattern=INBOUND_CURSOR, description="The previous page's cursor.")] = None,
) -> Envelope[InboundPage]:
    return Envelope(data=list_inbound(repository(), current_caller(app).org_id, limit, cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
