"""GET/POST /suppressions and PUT/DELETE /suppressions/{number}: the numbers an organization
must not send to."""

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator, Field

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope, ascii_digits
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.suppressing import lift, list_suppressions, suppress, suppress_many
from lisoloo.two_way_models import (
    NUMBER_CURSOR,
    BulkSuppressed,
    BulkSuppressionRequest,
    Suppression,
    SuppressionPage,
    SuppressionRemoved,
    SuppressionRequest,
)

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/suppressions")
def show(
    limit: Annotated[int, Field(ge=1, le=1_000), BeforeValidator(ascii_digits), Query()] = 100,
    cursor: Annotated[str | None, Query(pattern=NUMBER_CURSOR, description="The previous page's cursor.")] = None,
) -> Envelope[SuppressionPage]:
    return Envelope(data=list_suppressions(repository(), current_caller(app).org_id, limit, cursor))


@app.put(f"{API_PREFIX}/suppressions/<number>")
def add(
    number: str,
    # The body is optional: a number can be suppressed without saying why.
    request: Annotated[SuppressionRequest | None, Body()] = None,
) -> Envelope[Suppression]:
    reason = request.reason if request is not None else None
    return Envelope(data=suppress(repository(), current_caller(app), number, reason, datetime.now(UTC)))


@app.post(f"{API_PREFIX}/suppressions")
def add_many(request: BulkSuppressionRequest) -> Envelope[BulkSuppressed]:
    count = suppress_many(repository(), current_caller(app), request.numbers, request.reason, datetime.now(UTC))
    return Envelope(data=BulkSuppressed(suppressed=count))


@app.delete(f"{API_PREFIX}/suppressions/<number>")
def remove(number: str) -> Envelope[SuppressionRemoved]:
    return Envelope(data=lift(repository(), current_caller(app), number))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
