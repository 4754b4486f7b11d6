"""Carrier delivery receipts: POST (JSON or form) or GET (query string) per carrier."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver
from lisoloo.carriers import ReceiptRequest
from lisoloo.dependencies import carrier_connector, repository
from lisoloo.observability import logger, metrics, tracer
from lisoloo.receipts import apply_receipts, authenticate_carrier

app = build_resolver()


@app.route(f"{API_PREFIX}/receipts/<carrier>", method=["GET", "POST"])
def receive(carrier: str) -> dict[str, Any]:
    event = app.current_event
    query = event.query_string_parameters or {}
    authenticate_carrier(repository(), carrier, event.headers.get("x-carrier-token") or query.get("token"))
    request = ReceiptRequest(
        method=event.http_method,
        body=event.decoded_body or "",
        content_type=event.headers.get("content-type", ""),
        query=query,
    )
    summary = apply_receipts(repository(), carrier_connector(carrier), request, datetime.now(UTC))
    return {"status_code": 200, "data": {"received": summary.received, "applied": summary.applied}}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
