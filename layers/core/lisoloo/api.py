"""What every merchant-facing resolver shares: validation, the error envelope, the caller."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from lisoloo.errors import DomainError
from lisoloo.models import Caller
from lisoloo.observability import logger

API_PREFIX = "/api/v1/lisoloo/sms-api"


def _detail(status_code: int, detail: Any) -> Response[Any]:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body={"detail": detail})


def build_resolver() -> APIGatewayRestResolver:
    """A REST resolver whose every error is ``{"detail": ...}`` (FastAPI style, as the spec's 404)."""
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def _domain_error(error: DomainError) -> Response[Any]:
        return _detail(error.http_status, error.detail)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(error: RequestValidationError) -> Response[Any]:
        # Pydantic's messages name the field and the rule, never our code or the input value.
        problems = [
            {
                "loc": list(problem.get("loc", ())),
                "msg": problem.get("msg", ""),
                "type": problem.get("type", ""),
            }
            for problem in error.errors()
        ]
        return _detail(422, problems)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        return _detail(404, "Not Found")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return _detail(500, "Internal server error")

    return app


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """The organization the authorizer put in the request context (never from the request itself)."""
    context = app.current_event.request_context.authorizer
    return Caller(org_id=context["org_id"], default_country=context["default_country"])
