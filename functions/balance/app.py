"""GET /balance: the organization's prepaid balance (DESIGN §10)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.accounting import balance_of
from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope
from lisoloo.money_models import Balance
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/balance")
def show() -> Envelope[Balance]:
    return Envelope(data=balance_of(repository(), current_caller(app).org_id, settings.money.currency))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
