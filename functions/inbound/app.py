"""Inbound messages from carriers (MO): POST (JSON or form) or GET (query string) per carrier;
authenticated like receipts, stored, answered 2xx."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, body_text, build_resolver
from lisoloo.carriers import ReceiptRequest
from lisoloo.dependencies import carrier_connector, carrier_tokens, dispatch_queue, repository
from lisoloo.inbound import receive_inbound
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.route(f"{API_PREFIX}/inbound/<carrier>", method=["GET", "POST"])
def receive(carrier: str) -> Response[Any]:
    event = app.current_event
    query = event.query_string_parameters or {}
    now = datetime.now(UTC)
    carrier_tokens().authenticate(carrier, event.headers.get("x-carrier-token") or query.get("token"), now)
    request = ReceiptRequest(
        method=event.http_method,
        body=body_text(event),
        content_type=event.headers.get("content-type", ""),
        query=query,
    )
    connector = carrier_connector(carrier)
    outcome = receive_inbound(
        connector, request, repository=repository(), queue=dispatch_queue(), settings=settings, now=now
    )
    if connector.receipt_acknowledgement is not None:
        # The exact body this carrier needs to stop re-sending (Jasmin: ACK/Jasmin).
        return Response(200, content_types.TEXT_PLAIN, connector.receipt_acknowledgement)
    data = {"stored": outcome.stored, "duplicates": outcome.duplicates}
    return Response(200, content_types.APPLICATION_JSON, {"status_code": 200, "data": data})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
