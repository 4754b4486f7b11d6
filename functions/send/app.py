"""POST /send: one text to up to 10,000 numbers, one message_id."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import dispatch_queue, repository
from lisoloo.models import Envelope, SendAccepted, SendRequest
from lisoloo.observability import logger, metrics, tracer
from lisoloo.sending import send_message
from lisoloo.settings import get_settings

app = build_resolver()


@app.post(f"{API_PREFIX}/send")
def send(request: SendRequest) -> Envelope[SendAccepted]:
    accepted = send_message(
        request,
        current_caller(app),
        repository=repository(),
        queue=dispatch_queue(),
        settings=get_settings(),
        now=datetime.now(UTC),
    )
    return Envelope(data=accepted)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
