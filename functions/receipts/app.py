"""Carrier delivery receipts: POST (JSON or form) or GET (query string) per carrier; parsed,
queued for receipt-apply, answered 2xx."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver
from lisoloo.carrier_endpoints import carrier_call
from lisoloo.dependencies import carrier_connector, carrier_tokens, receipts_queue
from lisoloo.observability import logger, metrics, tracer
from lisoloo.receipts import queue_receipts
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.route(f"{API_PREFIX}/receipts/<carrier>", method=["GET", "POST"])
def receive(carrier: str) -> Response[Any]:
    now = datetime.now(UTC)
    call = carrier_call(app.current_event, carrier, carrier_tokens(), carrier_connector, now)
    received = queue_receipts(call.connector, call.request, receipts_queue(), now)
    return call.reply({"received": received})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
