"""GET /messages: the organization's messages, newest first, filtered (DESIGN §11)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BeforeValidator, Field

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.finding_models import MessagesPage
from lisoloo.models import Envelope, ascii_digits
from lisoloo.observability import logger, metrics, tracer
from lisoloo.search_rules import MAX_CURSOR_LENGTH, MessageQuery
from lisoloo.searching import recipient_number, search_messages
from lisoloo.settings import get_settings
from lisoloo.status import SmsStatus

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()
AggregateStatus = Literal["scheduled", "pending", "processing", "sent", "delivered", "failed"]


@app.get(f"{API_PREFIX}/messages")
def messages(
    status: Annotated[AggregateStatus | None, Query()] = None,
    created_after: Annotated[AwareDatetime | None, Query(description="Inclusive, with a time zone.")] = None,
    created_before: Annotated[AwareDatetime | None, Query(description="Exclusive, with a time zone.")] = None,
    reference: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    sender_id: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    recipient: Annotated[str | None, Query(min_length=1, max_length=32, description="A number it was sent to.")] = None,
    limit: Annotated[int, Field(ge=1, le=100), BeforeValidator(ascii_digits), Query()] = 50,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Envelope[MessagesPage]:
    caller = current_caller(app)
    now = datetime.now(UTC)
    query = MessageQuery(
        status=SmsStatus(status) if status else None,
        created_after=created_after,
        created_before=created_before,
        reference=reference,
        sender_id=sender_id,
        recipient=recipient_number(recipient, caller.default_country) if recipient is not None else None,
        limit=limit,
    )
    page = search_messages(
        repository(),
        caller.org_id,
        query,
        cursor,
        now=now,
        oldest=now - settings.time.message_lifetime,
        currency=settings.money.currency,
    )
    return Envelope(data=page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
