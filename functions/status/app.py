"""GET /status/{message_id}: aggregate status, counters and a page of recipients."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator, Field

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope, MessageStatus, ascii_digits
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.status_report import read_message_status

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/status/<message_id>")
def status(
    message_id: str,
    # The bounds before the validator: only so are they published as the schema's minimum and maximum.
    recipients_limit: Annotated[int, Field(ge=1, le=1_000), BeforeValidator(ascii_digits), Query()] = 100,
    recipients_cursor: Annotated[
        str | None,
        Query(
            max_length=16,
            description="The previous page's recipients_cursor, a position in ASCII digits; "
            "at or past the end, an empty page.",
        ),
    ] = None,
) -> Envelope[MessageStatus]:
    report = read_message_status(
        repository(),
        current_caller(app).org_id,
        message_id,
        limit=recipients_limit,
        cursor=recipients_cursor,
        currency=settings.money.currency,
    )
    return Envelope(data=report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
