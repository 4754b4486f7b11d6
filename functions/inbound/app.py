"""Inbound messages from carriers (MO): POST (JSON or form) or GET (query string) per carrier;
authenticated like receipts, stored, answered 2xx."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver
from lisoloo.carrier_endpoints import carrier_call
from lisoloo.dependencies import carrier_connector, carrier_tokens, dispatch_queue, repository
from lisoloo.inbound import receive_inbound
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.route(f"{API_PREFIX}/inbound/<carrier>", method=["GET", "POST"])
def receive(carrier: str) -> Response[Any]:
    now = datetime.now(UTC)
    call = carrier_call(app.current_event, carrier, carrier_tokens(), carrier_connector, now)
    outcome = receive_inbound(
        call.connector, call.request, repository=repository(), queue=dispatch_queue(), settings=settings, now=now
    )
    return call.reply({"stored": outcome.stored, "duplicates": outcome.duplicates})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
