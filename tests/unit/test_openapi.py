"""openapi.json: generated from the resolvers, current, complete, and served offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

from local.api_model import read_rest_apis
from local.http_messages import HttpRequest
from local.infrastructure import load_template
from local.openapi import OPENAPI_FILE, docs_pages, generate_openapi, render
from tests.conftest import TEMPLATE


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        return generate_openapi(TEMPLATE)


def template_routes() -> list[tuple[str, str, str | None]]:
    apis = read_rest_apis(load_template(TEMPLATE), {})
    return [
        (route.method.lower(), route.resource_path, route.authorizer) for api in apis.values() for route in api.routes
    ]


def test_the_committed_openapi_json_is_current(generated: dict[str, Any]) -> None:
    assert OPENAPI_FILE.read_text() == render(generated), "openapi.json is stale: run `make openapi`"


def test_it_is_a_valid_openapi_document(generated: dict[str, Any]) -> None:
    OpenAPI(**generated)
    assert generated["openapi"].startswith("3.")


def test_every_template_route_is_documented_with_its_security(generated: dict[str, Any]) -> None:
    schemes = generated["components"]["securitySchemes"]
    assert schemes["app-key"] == {**schemes["app-key"], "type": "apiKey", "in": "header", "name": "app-key"}
    assert generated["security"] == [{"app-key": []}]
    for method, path, authorizer in template_routes():
        operation = generated["paths"][path][method]
        responses = operation["responses"]
        # A success (200, or 202 for what is only queued) and our own failure, on every route
        assert {"200", "202"} & set(responses) and "500" in responses, (method, path)
        if path.endswith("/u/{token}"):
            # A text's recipient: no credential but the link's token, an HTML page either way
            assert operation["security"] == []
            assert set(responses) == {"200", "404", "500"}
            assert "text/html" in responses["404"]["content"]
        elif authorizer is None:
            # Carriers: their own token, never an app-key, never a usage plan
            assert operation["security"] == [{"carrier-token": []}, {"carrier-token-query": []}]
            assert "429" not in responses
        else:
            assert "security" not in operation  # the document's app-key applies
            assert responses["401"]["content"]["application/json"]["example"] == {
                "detail": "Invalid or missing app-key"
            }
            assert responses["429"]["content"]["application/json"]["example"] == {"detail": "Rate limit exceeded"}
            assert "Retry-After" in responses["429"]["headers"]


def test_schemas_examples_and_error_responses(generated: dict[str, Any]) -> None:
    paths = generated["paths"]
    send = paths["/api/v1/lisoloo/sms-api/send"]["post"]
    body = send["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SendRequest"}
    assert body["examples"]["one number"]["value"]["to"] == ["+254712345678"]
    assert send["responses"]["422"]["content"]["application/json"]["example"]["detail"][0]["type"]
    status = paths["/api/v1/lisoloo/sms-api/status/{message_id}"]["get"]
    assert status["responses"]["404"]["content"]["application/json"]["example"] == {"detail": "Message not found"}
    assert status["responses"]["200"]["content"]["application/json"]["example"]["data"]["status"] == "delivered"
    schemas = generated["components"]["schemas"]
    assert {"SendRequest", "SendAccepted", "MessageStatus", "Error", "HTTPValidationError"} <= set(schemas)
    assert "Idempotency-Key" in {parameter["name"] for parameter in send["parameters"]}


def test_the_docs_page_is_swagger_ui_with_everything_inline(tmp_path: Path) -> None:
    # Given the pages the local stack serves
    pages = docs_pages("/api/v1/lisoloo/sms-api")
    request = HttpRequest("GET", "/api/v1/lisoloo/sms-api/docs", "", (), b"", "127.0.0.1")

    # When the docs page and the document are fetched
    page = pages["/api/v1/lisoloo/sms-api/docs"](request)
    spec = pages["/api/v1/lisoloo/sms-api/openapi.json"](request)

    # Then the page carries Swagger UI and the document itself, and loads nothing from elsewhere
    html = page.body.decode()
    assert page.status == 200
    assert "SwaggerUIBundle" in html
    assert "/api/v1/lisoloo/sms-api/send" in html
    assert "<script src=" not in html and "<link " not in html
    document = json.loads(spec.body)
    assert document["servers"] == [{"url": "/", "description": "this local stack"}]
    assert document["paths"].keys() == json.loads(OPENAPI_FILE.read_text())["paths"].keys()
