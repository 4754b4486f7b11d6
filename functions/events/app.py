"""The event log: GET /events, GET /messages/{message_id}/events, POST /events/{event_id}/redeliver,
GET /webhook/deliveries."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator, Field

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository, webhook_queue
from lisoloo.event_log import read_deliveries, read_events, read_message_events, redeliver_event
from lisoloo.finding_models import DeliveriesPage, EventRedelivery, EventsPage, MessageEvents
from lisoloo.models import Envelope, ascii_digits
from lisoloo.observability import logger, metrics, tracer
from lisoloo.search_rules import MAX_CURSOR_LENGTH
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()
Limit = Annotated[int, Field(ge=1, le=100), BeforeValidator(ascii_digits), Query()]


@app.get(f"{API_PREFIX}/events")
def events(
    after: Annotated[str | None, Query(max_length=12, description="A position from an earlier page.")] = None,
    type: Annotated[str | None, Query(min_length=1, max_length=40, description="e.g. sms.delivered")] = None,
    limit: Limit = 50,
) -> Envelope[EventsPage]:
    return Envelope(data=read_events(repository(), current_caller(app).org_id, after, type, limit))


@app.get(f"{API_PREFIX}/messages/<message_id>/events")
def message_events(message_id: str, limit: Limit = 100) -> Envelope[MessageEvents]:
    return Envelope(data=read_message_events(repository(), current_caller(app).org_id, message_id, limit))


@app.post(f"{API_PREFIX}/events/<event_id>/redeliver")
def redeliver(event_id: str) -> tuple[Envelope[EventRedelivery], int]:
    queued = redeliver_event(repository(), webhook_queue(), current_caller(app).org_id, event_id)
    return Envelope(status_code=202, data=queued), 202


@app.get(f"{API_PREFIX}/webhook/deliveries")
def deliveries(
    status: Annotated[Literal["failed"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> Envelope[DeliveriesPage]:
    page = read_deliveries(
        repository(), current_caller(app).org_id, failed_only=status == "failed", limit=limit, cursor=cursor
    )
    return Envelope(data=page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
