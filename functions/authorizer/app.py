"""API Gateway REQUEST authorizer: the app-key header to the organization it belongs to."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.authorization import authorize_app_key
from lisoloo.dependencies import repository
from lisoloo.observability import logger, tracer
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    caller = authorize_app_key(repository(), event.headers.get("app-key"), datetime.now(UTC))
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.org_id if caller else "anonymous",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=caller.as_context() if caller else None,
        # Usage plans throttle per organization (ApiKeySourceType: AUTHORIZER).
        usage_identifier_key=caller.org_id if caller else None,
    )
    # Cached per key for every route, so the policy covers the whole API, not this method only.
    if caller is None:
        policy.deny_all_routes()
    else:
        policy.allow_all_routes()
    return policy.asdict()
