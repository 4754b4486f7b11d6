"""Gateway responses rendered from the template's GatewayResponses."""

from __future__ import annotations

import json

from local.api_model import GatewayResponseConfig
from local.gateway_responses import (
    INTEGRATION_ERROR,
    MISSING_AUTHENTICATION_TOKEN,
    THROTTLED,
    UNAUTHORIZED,
    GatewayError,
    render,
)

RESPONSES = {
    "UNAUTHORIZED": GatewayResponseConfig(
        status_code=401, templates={"application/json": '{"detail": "Invalid or missing app-key"}'}
    ),
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponseConfig(
        status_code=404, templates={"application/json": '{"detail": "Not Found"}'}
    ),
    "DEFAULT_4XX": GatewayResponseConfig(
        templates={"application/json": '{"detail": $context.error.messageString}'},
        headers={"X-Api": "lisoloo"},
    ),
    "DEFAULT_5XX": GatewayResponseConfig(templates={"application/json": '{"detail": "Internal server error"}'}),
}


def test_configured_type_uses_its_status_and_body() -> None:
    # Given UNAUTHORIZED configured in the template
    # When it is rendered
    response = render(UNAUTHORIZED, RESPONSES, request_id="r1")

    # Then the template's status and body answer, with API Gateway's error headers
    assert response.status == 401
    assert json.loads(response.body) == {"detail": "Invalid or missing app-key"}
    assert ("x-amzn-ErrorType", "UnauthorizedException") in response.headers
    assert ("Content-Type", "application/json") in response.headers


def test_status_override_for_unknown_routes() -> None:
    response = render(MISSING_AUTHENTICATION_TOKEN, RESPONSES, request_id="r1")
    assert response.status == 404
    assert json.loads(response.body) == {"detail": "Not Found"}


def test_unconfigured_4xx_falls_back_to_default_4xx_with_the_message_as_json_string() -> None:
    # Given THROTTLED not configured, and a message that needs JSON escaping
    error = GatewayError(THROTTLED.response_type, 429, 'Too "many" requests', THROTTLED.error_type)

    # When it is rendered
    response = render(error, RESPONSES, request_id="r1")

    # Then DEFAULT_4XX's template is used with $context.error.messageString as a quoted string
    assert response.status == 429
    assert json.loads(response.body) == {"detail": 'Too "many" requests'}
    assert ("X-Api", "lisoloo") in response.headers


def test_integration_failure_is_a_502_with_default_5xx_body() -> None:
    response = render(INTEGRATION_ERROR, RESPONSES, request_id="r1")
    assert response.status == 502
    assert json.loads(response.body) == {"detail": "Internal server error"}


def test_without_any_configuration_api_gateway_default_body() -> None:
    response = render(UNAUTHORIZED, {}, request_id="r1")
    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
