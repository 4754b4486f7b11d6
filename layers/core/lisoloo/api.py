"""What every merchant-facing resolver shares: validation, the error envelope, the caller."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lisoloo.errors import DomainError
from lisoloo.models import Caller
from lisoloo.observability import logger

API_PREFIX = "/api/v1/lisoloo/sms-api"
NOT_JSON = [{"loc": ["body"], "msg": "Content-Type must be application/json", "type": "content_type"}]


def _detail(status_code: int, detail: Any) -> Response[Any]:
    return Response(status_code=status_code, content_type=content_types.APPLICATION_JSON, body={"detail": detail})


def _internal_error() -> Response[Any]:
    """Our fault, whatever the request: logged with its traceback, answered without it."""
    logger.exception("unhandled error")
    return _detail(500, "Internal server error")


def body_text(event: APIGatewayProxyEvent) -> str:
    """The request body as text, whatever its bytes. API Gateway passes a body that is not
    UTF-8 on as text, each undecodable byte replaced by U+FFFD (it base64-encodes only binary
    media types, and this API declares none); a base64 body is read the same way."""
    if not event.body:
        return ""
    if event.is_base64_encoded:
        return base64.b64decode(event.body).decode("utf-8", "replace")
    return event.body


def _json_body(text: str) -> Any:
    """json.loads, except that nesting too deep for the parser is a JSON error (422), not a crash,
    and a body with a raw U+FFFD is one that was not UTF-8 (400, see ``body_text``): JSON can
    still carry that character, escaped as \\ufffd."""
    if "\ufffd" in text:
        raise UnicodeDecodeError("utf-8", b"", 0, 0, "a byte that is not UTF-8, replaced by U+FFFD")
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def build_resolver() -> APIGatewayRestResolver:
    """A REST resolver whose every error is ``{"detail": ...}`` (FastAPI style, as the spec's 404)."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=_json_body)

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

    # Bodies that cannot be read at all are request validation errors too (422, listed), not crashes.
    # 422 rather than 415: these routes take JSON, and a form or multipart body already answers 422
    # (Powertools parses it, then the fields fail validation), so every unreadable body is alike.
    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported_body(_: RequestUnsupportedContentType) -> Response[Any]:
        return _detail(422, NOT_JSON)

    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def _undecodable_body(_: UnicodeDecodeError) -> Response[Any]:
        # Raised while the body is read as JSON, before any of our code runs. 400, not 422: these
        # are not text at all, so there is nothing to validate (the README's error table).
        return _detail(400, "Request body is not valid UTF-8")

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        return _detail(404, "Not Found")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(_: Exception) -> Response[Any]:
        return _internal_error()

    @app.exception_handler(ValueError)  # type: ignore[untyped-decorator]
    def _unparsable_multipart(_: ValueError) -> Response[Any]:
        # Powertools' multipart parser raises a bare ValueError for "multipart/form-data" without
        # a boundary, before any of our code runs; any other ValueError is ours and stays a 500.
        content_type = app.current_event.headers.get("content-type", "").lower()
        if content_type.startswith("multipart/form-data") and "boundary=" not in content_type:
            return _detail(422, NOT_JSON)
        return _internal_error()

    return app


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """The organization the authorizer put in the request context (never from the request itself)."""
    return Caller.from_context(app.current_event.request_context.authorizer)
