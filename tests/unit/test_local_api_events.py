"""The REST API v1 events the local gateway builds, and how it reads proxy results."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from local.api_events import (
    ApiIdentity,
    MalformedProxyResultError,
    method_arn,
    parse_proxy_result,
    proxy_event,
    request_authorizer_event,
)
from local.api_model import Route, RouteMatch
from local.http_messages import HttpRequest

API = ApiIdentity(api_id="abc123", stage="dev", account_id="123456789012", region="us-east-1")
RECEIVED_AT = datetime(2026, 5, 27, 10, 15, 0, 123000, tzinfo=UTC)
ROUTE = Route(
    api_logical_id="SmsApi",
    resource_path="/api/status/{message_id}",
    method="GET",
    function_logical_id="StatusFunction",
    authorizer="AppKeyAuthorizer",
)
MATCH = RouteMatch(route=ROUTE, path_parameters={"message_id": "m 1"})


def _request(**changes: Any) -> HttpRequest:
    fields: dict[str, Any] = {
        "method": "GET",
        "path": "/api/status/m%201",
        "query": "limit=5&tag=a&tag=b",
        "headers": (
            ("Host", "127.0.0.1:3000"),
            ("app-key", "k1"),
            ("X-Dup", "1"),
            ("X-Dup", "2"),
            ("User-Agent", "ua"),
        ),
        "body": b"",
        "source_ip": "127.0.0.1",
    }
    fields.update(changes)
    return HttpRequest(**fields)


def test_proxy_event_has_the_rest_v1_shape() -> None:
    # Given a GET with a repeated header, a repeated query parameter and a path parameter
    request = _request()

    # When the gateway builds the integration event
    event = proxy_event(
        request,
        MATCH,
        API,
        request_id="req-1",
        received_at=RECEIVED_AT,
        authorizer={"org_id": "o1", "principalId": "o1"},
    )

    # Then it carries every REST v1 field, single values being the last of each name
    assert set(event) == {
        "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
        "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body",
        "isBase64Encoded",
    }  # fmt: skip
    assert event["resource"] == "/api/status/{message_id}"
    assert event["path"] == "/api/status/m%201"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Dup"] == "2"
    assert event["multiValueHeaders"]["X-Dup"] == ["1", "2"]
    assert event["headers"]["app-key"] == "k1"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"]}
    assert event["pathParameters"] == {"message_id": "m 1"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_proxy_event_request_context() -> None:
    # Given an authorized request
    event = proxy_event(
        _request(),
        MATCH,
        API,
        request_id="req-1",
        received_at=RECEIVED_AT,
        authorizer={"org_id": "o1", "principalId": "o1"},
    )

    # When the handler reads the request context
    context = event["requestContext"]

    # Then it names the API, stage, resource, caller and authorizer as API Gateway does
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "abc123"
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/api/status/m%201"
    assert context["resourcePath"] == "/api/status/{message_id}"
    assert context["httpMethod"] == "GET"
    assert context["requestId"] == "req-1"
    assert context["requestTimeEpoch"] == 1779876900123
    assert context["requestTime"] == "27/May/2026:10:15:00 +0000"
    assert len(context["resourceId"]) == 6
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "ua"
    assert context["authorizer"] == {"org_id": "o1", "principalId": "o1"}
    assert context["domainName"] == "127.0.0.1:3000"


def test_route_without_authorizer_has_no_authorizer_context_and_null_parameters() -> None:
    # Given a request with no query string, to a route without parameters or authorizer
    match = RouteMatch(route=ROUTE, path_parameters={})

    # When the event is built
    event = proxy_event(_request(query=""), match, API, request_id="r", received_at=RECEIVED_AT, authorizer=None)

    # Then the empty parts are null, as API Gateway sends them
    assert "authorizer" not in event["requestContext"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


def test_body_is_text_with_undecodable_bytes_replaced() -> None:
    # Given a UTF-8 body and one that is not UTF-8
    text = proxy_event(
        _request(body="héllo".encode()), MATCH, API, request_id="r", received_at=RECEIVED_AT, authorizer=None
    )
    binary = proxy_event(
        _request(body=b"\xff\x00ok"), MATCH, API, request_id="r", received_at=RECEIVED_AT, authorizer=None
    )

    # Then both pass as text, as API Gateway passes them with no binary media types declared:
    # each byte that is not UTF-8 replaced by U+FFFD, never base64
    assert (text["body"], text["isBase64Encoded"]) == ("héllo", False)
    assert (binary["body"], binary["isBase64Encoded"]) == ("\ufffd\x00ok", False)


def test_request_authorizer_event_shape() -> None:
    # Given a request to an authorized route
    event = request_authorizer_event(_request(), MATCH, API, request_id="r", received_at=RECEIVED_AT)

    # Then the authorizer sees the REQUEST shape with the method ARN of the actual path
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/api/status/m%201"
    assert event["resource"] == "/api/status/{message_id}"
    assert event["headers"]["app-key"] == "k1"
    assert event["pathParameters"] == {"message_id": "m 1"}
    assert event["stageVariables"] == {}
    assert event["requestContext"]["stage"] == "dev"
    assert "body" not in event


def test_method_arn() -> None:
    assert method_arn(API, "post", "/a/b") == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/a/b"


def test_proxy_result_becomes_the_http_answer() -> None:
    # Given a handler's result with single and multi-value headers naming one header twice
    result = {
        "statusCode": 201,
        "headers": {"X-One": "1", "X-Both": "single"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
        "body": '{"ok": true}',
        "isBase64Encoded": False,
    }

    # When the gateway reads it
    response = parse_proxy_result(result)

    # Then multiValueHeaders wins where both name a header, and JSON is the default content type
    assert response.status == 201
    assert response.body == b'{"ok": true}'
    assert ("X-Both", "single") not in response.headers
    assert [value for name, value in response.headers if name == "X-Both"] == ["m1", "m2"]
    assert ("X-One", "1") in response.headers
    assert ("Content-Type", "application/json") in response.headers


def test_base64_result_is_decoded() -> None:
    response = parse_proxy_result(
        {"statusCode": 200, "body": base64.b64encode(b"\x01\x02").decode(), "isBase64Encoded": True}
    )
    assert response.body == b"\x01\x02"


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {"body": "{}"},
        {"statusCode": "abc"},
        {"statusCode": "²"},  # isdigit() but not int(): was a ValueError out of the gateway
        # isdigit() and int() == 200 ("٢٠٠" in Arabic-Indic digits): was answered as a 200
        {"statusCode": "\N{ARABIC-INDIC DIGIT TWO}\N{ARABIC-INDIC DIGIT ZERO}\N{ARABIC-INDIC DIGIT ZERO}"},
        {"statusCode": 700},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "unexpected": 1},
        {"statusCode": 200, "headers": {"X": ["list"]}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not a list"}},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_results_are_refused(result: Any) -> None:
    # Given a result API Gateway calls a "Malformed Lambda proxy response"
    # When / Then the gateway refuses it (and answers 502)
    with pytest.raises(MalformedProxyResultError):
        parse_proxy_result(result)
