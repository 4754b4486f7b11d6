"""GET/PUT /webhook and POST /webhook/rotate-secret: an organization's webhook settings."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope, WebhookConfiguration, WebhookSettingsRequest
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings
from lisoloo.webhooks.subscriptions import configure_webhook, read_webhook, rotate_secret

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/webhook")
def show() -> Envelope[WebhookConfiguration]:
    return Envelope(data=read_webhook(repository(), current_caller(app).org_id))


@app.put(f"{API_PREFIX}/webhook")
def update(request: WebhookSettingsRequest) -> Envelope[WebhookConfiguration]:
    org_id = current_caller(app).org_id
    configuration = configure_webhook(repository(), org_id, request.webhook_url, settings, datetime.now(UTC))
    return Envelope(data=configuration)


@app.post(f"{API_PREFIX}/webhook/rotate-secret")
def rotate() -> Envelope[WebhookConfiguration]:
    return Envelope(data=rotate_secret(repository(), current_caller(app).org_id, datetime.now(UTC)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
