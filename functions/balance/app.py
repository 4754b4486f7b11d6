"""GET /balance and GET /balance/ledger: the organization's prepaid balance and its changes (DESIGN §10)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator, Field

from lisoloo.accounting import balance_of, ledger_of
from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import repository
from lisoloo.models import Envelope, ascii_digits
from lisoloo.money_models import Balance, LedgerPage
from lisoloo.observability import logger, metrics, tracer
from lisoloo.search_rules import MAX_CURSOR_LENGTH
from lisoloo.settings import get_settings

settings = get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.get(f"{API_PREFIX}/balance")
def show() -> Envelope[Balance]:
    return Envelope(data=balance_of(repository(), current_caller(app).org_id, settings.money.currency))


@app.get(f"{API_PREFIX}/balance/ledger")
def ledger(
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    limit: Annotated[int, Field(ge=1, le=100), BeforeValidator(ascii_digits), Query()] = 50,
) -> Envelope[LedgerPage]:
    page = ledger_of(repository(), current_caller(app).org_id, settings.money.currency, cursor, limit)
    return Envelope(data=page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
