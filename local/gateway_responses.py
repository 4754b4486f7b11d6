"""API Gateway's own answers (gateway responses), shaped by the template's ``GatewayResponses``.

Each error API Gateway raises before or around the integration has a response type with a
default status code and message. The template can override the status and the body template
per type, and ``DEFAULT_4XX`` / ``DEFAULT_5XX`` fill in for types it does not configure.
Bodies are mapping templates; only the ``$context`` variables that make sense here are
substituted (``$context.error.messageString`` is the message as a quoted JSON string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from local.api_model import GatewayResponseConfig
from local.http_messages import HttpResponse

_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_CONTEXT_VARIABLE = re.compile(r"\$(?:context\.([A-Za-z]+(?:\.[A-Za-z]+)*)|\{context\.([A-Za-z]+(?:\.[A-Za-z]+)*)\})")


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's error answers: its response type (None: no type of its own, only
    DEFAULT_4XX/5XX apply), status, message and the ``x-amzn-ErrorType`` it reports."""

    response_type: str | None
    status: int
    message: str | None
    error_type: str


UNAUTHORIZED = GatewayError("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
ACCESS_DENIED = GatewayError(
    "ACCESS_DENIED",
    403,
    "User is not authorized to access this resource with an explicit deny",
    "AccessDeniedException",
)
# No policy statement allows the method (an implicit deny): same type, another message.
NOT_ALLOWED = GatewayError(
    "ACCESS_DENIED", 403, "User is not authorized to access this resource", "AccessDeniedException"
)
MISSING_AUTHENTICATION_TOKEN = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
THROTTLED = GatewayError("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException")
# A metered route (ApiKeyRequired) and no API key: with ApiKeySourceType AUTHORIZER, the
# authorizer returned no usageIdentifierKey.
INVALID_API_KEY = GatewayError("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
REQUEST_TOO_LARGE = GatewayError("REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLargeException")
AUTHORIZER_FAILURE = GatewayError("AUTHORIZER_FAILURE", 500, None, "AuthorizerConfigurationException")
AUTHORIZER_CONFIGURATION_ERROR = GatewayError(
    "AUTHORIZER_CONFIGURATION_ERROR", 500, None, "AuthorizerConfigurationException"
)
# A Lambda proxy integration that raised, timed out or returned a malformed result.
INTEGRATION_ERROR = GatewayError(None, 502, "Internal server error", "InternalServerErrorException")
# The local gateway itself failed (a bug here): answered like any 5xx, never with a traceback.
GATEWAY_FAILURE = GatewayError(None, 500, "Internal server error", "InternalServerErrorException")


def framing_error(status: int, message: str) -> GatewayError:
    """A request that could not be read as HTTP: no response type of its own (API Gateway's
    edge refuses it before any API), so DEFAULT_4XX/5XX shape it."""
    error_type = "InternalServerErrorException" if status >= 500 else "BadRequestException"
    return GatewayError(None, status, message, error_type)


def render(
    error: GatewayError,
    responses: Mapping[str, GatewayResponseConfig],
    *,
    request_id: str,
) -> HttpResponse:
    default = responses.get("DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX") or GatewayResponseConfig()
    specific = (responses.get(error.response_type) if error.response_type else None) or GatewayResponseConfig()
    status = specific.status_code or error.status
    templates = specific.templates or default.templates or {"application/json": _DEFAULT_TEMPLATE}
    content_type = "application/json" if "application/json" in templates else next(iter(templates))
    body = _substitute(
        templates[content_type],
        {
            "error.messageString": json.dumps(error.message),
            "error.message": error.message or "",
            "error.responseType": error.response_type or ("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"),
            "requestId": request_id,
        },
    )
    headers = {**default.headers, **specific.headers}
    return HttpResponse(
        status=status,
        headers=[
            ("Content-Type", content_type),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error.error_type),
            *headers.items(),
        ],
        body=body.encode(),
    )


def _substitute(template: str, variables: Mapping[str, str]) -> str:
    def replace(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        # Unknown variables render empty, as API Gateway renders an unset $context variable.
        return variables.get(name, "")

    return _CONTEXT_VARIABLE.sub(replace, template)
