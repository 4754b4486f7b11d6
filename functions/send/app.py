"""POST /send: one text to up to 10,000 numbers, one message_id."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import dispatch_queue, repository
from lisoloo.idempotency import register_lambda_context, send_once
from lisoloo.models import Envelope, SendAccepted, SendRequest
from lisoloo.money_models import SendQuote
from lisoloo.observability import logger, metrics, tracer
from lisoloo.sending import quote_message, send_message
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.post(f"{API_PREFIX}/send")
def send(request: SendRequest) -> Envelope[SendAccepted] | Envelope[SendQuote]:
    caller = current_caller(app)
    if request.dry_run:  # creates nothing, so there is nothing to do once
        return Envelope(
            data=quote_message(request, caller, repository=repository(), settings=settings, now=datetime.now(UTC))
        )
    accepted = send_once(
        request,
        caller,
        app.current_event.headers.get("idempotency-key"),
        lambda: send_message(
            request,
            caller,
            repository=repository(),
            queue=dispatch_queue(),
            settings=settings,
            now=datetime.now(UTC),
        ),
    )
    return Envelope(data=accepted)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    register_lambda_context(context)
    return app.resolve(event, context)
