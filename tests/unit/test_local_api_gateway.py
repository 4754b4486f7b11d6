"""The local gateway's request pipeline, with stand-in functions, then once over real HTTP."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.api_gateway import ApiGateway
from local.api_model import AuthorizerConfig, GatewayResponseConfig, RestApi, Route
from local.http_messages import HttpRequest, chunk_size, content_length
from local.infrastructure import FunctionSpec
from local.lambda_runtime import LocalFunction
from local.throttling import TokenBuckets

Handler = Callable[[dict[str, Any], Any], Any]


def _function(logical_id: str, handler: Handler) -> LocalFunction:
    spec = FunctionSpec(
        logical_id=logical_id,
        name=logical_id,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}",
        code_dir=Path("."),
        handler="app.lambda_handler",
        timeout_seconds=3,
        memory_mb=128,
        environment={},
        events=(),
    )
    return LocalFunction(spec, handler)


def _authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    key = event["headers"].get("app-key")
    if key == "crash":
        raise RuntimeError("authorizer bug")
    return {
        "principalId": f"org-{key}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if key != "bad" else "Deny",
                    "Resource": "*",
                }
            ],
        },
        "context": {"org_id": f"org-{key}"},
        # (the key "unmetered" stands for an authorizer that forgot usageIdentifierKey)
        **({"usageIdentifierKey": f"org-{key}"} if key != "unmetered" else {}),
    }


def _echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"X-Fn": "echo"}, "body": json.dumps(event)}


API = RestApi(
    logical_id="Api",
    stage="dev",
    authorizers={
        "Key": AuthorizerConfig(
            name="Key", function_logical_id="Auth", payload_type="REQUEST", identity_headers=("app-key",)
        )
    },
    gateway_responses={
        "UNAUTHORIZED": GatewayResponseConfig(401, {"application/json": '{"detail": "Invalid or missing app-key"}'}),
        "ACCESS_DENIED": GatewayResponseConfig(401, {"application/json": '{"detail": "Invalid or missing app-key"}'}),
        "MISSING_AUTHENTICATION_TOKEN": GatewayResponseConfig(404, {"application/json": '{"detail": "Not Found"}'}),
        "THROTTLED": GatewayResponseConfig(
            429, {"application/json": '{"detail": "Rate limit exceeded"}'}, {"Retry-After": "1"}
        ),
        "DEFAULT_4XX": GatewayResponseConfig(None, {"application/json": '{"detail": $context.error.messageString}'}),
        "DEFAULT_5XX": GatewayResponseConfig(None, {"application/json": '{"detail": "Internal server error"}'}),
    },
    routes=(
        Route("Api", "/v1/echo/{id}", "GET", "Echo", "Key", api_key_required=True),
        Route("Api", "/v1/unmetered", "GET", "Echo", "Key"),
        Route("Api", "/v1/open", "POST", "Echo", None),
        Route("Api", "/v1/crash", "GET", "Crash", None),
        Route("Api", "/v1/malformed", "GET", "Malformed", None),
    ),
)


def _crash(event: Any, context: Any) -> Any:
    raise KeyError("secret internals")


def _gateway(throttle: TokenBuckets | None = None) -> ApiGateway:
    functions = {
        "Auth": _function("Auth", _authorize),
        "Echo": _function("Echo", _echo),
        "Crash": _function("Crash", _crash),
        "Malformed": _function("Malformed", lambda event, context: {"statusCode": 200, "body": {"a": 1}}),
    }
    return ApiGateway(
        {"Api": API},
        functions,
        api_ids={"Api": "api123"},
        account_id="123456789012",
        region="us-east-1",
        throttle=throttle,
    )


def _request(method: str, path: str, *headers: tuple[str, str], body: bytes = b"") -> HttpRequest:
    return HttpRequest(method=method, path=path, query="", headers=headers, body=body, source_ip="127.0.0.1")


def test_authorized_request_reaches_the_function_with_the_authorizer_context() -> None:
    # Given a route behind the app-key authorizer
    gateway = _gateway()

    # When a request with a good key arrives
    response = gateway.handle(_request("GET", "/v1/echo/42", ("app-key", "k1")))

    # Then the function got a proxy event with path parameters and the authorizer's context
    assert response.status == 200
    event = json.loads(response.body)
    assert event["pathParameters"] == {"id": "42"}
    assert event["requestContext"]["authorizer"]["org_id"] == "org-k1"
    assert event["requestContext"]["authorizer"]["principalId"] == "org-k1"
    assert event["requestContext"]["apiId"] == "api123"
    assert ("X-Fn", "echo") in response.headers


@pytest.mark.parametrize(
    ("request_", "status", "detail"),
    [
        (_request("GET", "/v1/nowhere"), 404, "Not Found"),
        (_request("DELETE", "/v1/open"), 404, "Not Found"),
        (_request("GET", "/v1/echo/42"), 401, "Invalid or missing app-key"),
        (_request("GET", "/v1/echo/42", ("app-key", "bad")), 401, "Invalid or missing app-key"),
        (_request("GET", "/v1/echo/42", ("app-key", "crash")), 500, "Internal server error"),
        (_request("GET", "/v1/crash"), 502, "Internal server error"),
        (_request("GET", "/v1/malformed"), 502, "Internal server error"),
    ],
)
def test_gateway_responses(request_: HttpRequest, status: int, detail: str) -> None:
    # Given the gateway; When a request fails before, at or after the function
    response = _gateway().handle(request_)

    # Then the template's gateway response answers, never a traceback
    assert response.status == status
    assert json.loads(response.body) == {"detail": detail}
    assert b"Traceback" not in response.body
    assert b"secret internals" not in response.body


def test_route_without_authorizer_has_no_authorizer_context() -> None:
    response = _gateway().handle(_request("POST", "/v1/open", body=b'{"a": 1}'))
    event = json.loads(response.body)
    assert "authorizer" not in event["requestContext"]
    assert event["body"] == '{"a": 1}'


def test_throttling_per_principal() -> None:
    # Given a throttle of one request per principal (and no refill to speak of)
    gateway = _gateway(throttle=TokenBuckets(rate_per_second=0.001, burst=1))

    # When one organization calls twice and another once
    first = gateway.handle(_request("GET", "/v1/echo/1", ("app-key", "k1")))
    second = gateway.handle(_request("GET", "/v1/echo/1", ("app-key", "k1")))
    other = gateway.handle(_request("GET", "/v1/echo/1", ("app-key", "k2")))

    # Then only the second call of the first organization is throttled, with the template's header
    assert (first.status, second.status, other.status) == (200, 429, 200)
    assert json.loads(second.body) == {"detail": "Rate limit exceeded"}
    assert ("Retry-After", "1") in second.headers


def test_only_routes_that_require_an_api_key_are_metered() -> None:
    # Given a throttle of one request per key
    gateway = _gateway(throttle=TokenBuckets(rate_per_second=0.001, burst=1))

    # When one organization calls a route without ApiKeyRequired three times
    statuses = [gateway.handle(_request("GET", "/v1/unmetered", ("app-key", "k1"))).status for _ in range(3)]

    # Then none is throttled (usage plans only see metered routes)
    assert statuses == [200, 200, 200]


def test_a_metered_route_without_a_usage_identifier_key_is_forbidden() -> None:
    response = _gateway().handle(_request("GET", "/v1/echo/1", ("app-key", "unmetered")))
    assert response.status == 403
    assert json.loads(response.body) == {"detail": "Forbidden"}


def test_over_http() -> None:
    # Given the gateway listening on a free loopback port
    gateway = _gateway()
    gateway.start(port=0)
    try:
        # When a client posts JSON and asks for an unknown route
        request = urllib.request.Request(
            f"{gateway.url}/v1/open?x=1&x=2",
            data=b'{"hello": "world"}',
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            event = json.loads(answer.read())
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{gateway.url}/v1/nowhere", timeout=5)

        # Then the event carries the body and query, and the miss is the template's 404
        assert event["body"] == '{"hello": "world"}'
        assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
        assert event["headers"]["Content-Type"] == "application/json"
        assert missing.value.code == 404
        assert json.loads(missing.value.read()) == {"detail": "Not Found"}
    finally:
        gateway.stop()


@pytest.mark.parametrize(("header", "length"), [(None, 0), ("", 0), ("0", 0), ("17", 17), ("007", 7)])
def test_content_lengths(header: str | None, length: int) -> None:
    assert content_length(header) == length


@pytest.mark.parametrize("header", ["+5", "-5", "1_0", "\N{ARABIC-INDIC DIGIT FIVE}", "5\n", "0x10", "1e3"])
def test_content_lengths_int_would_read_are_refused(header: str) -> None:
    with pytest.raises(ValueError, match="Content-Length"):
        content_length(header)


@pytest.mark.parametrize(("line", "size"), [(b"0\r\n", 0), (b"1a\r\n", 26), (b"A; name=value\r\n", 10)])
def test_chunk_sizes(line: bytes, size: int) -> None:
    assert chunk_size(line) == size


@pytest.mark.parametrize("line", [b"-5\r\n", b"+5\r\n", b"1_0\r\n", b"0x10\r\n", b"\r\n", b""])
def test_chunk_sizes_int_would_read_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match="chunk size"):
        chunk_size(line)


def test_a_chunk_size_of_minus_one_is_a_400_not_a_read_to_the_end_of_the_stream() -> None:
    # Given the gateway listening
    gateway = _gateway()
    gateway.start(port=0)
    try:
        host, port = gateway.url.removeprefix("http://").split(":")
        # When a client sends a chunked body whose size is "-1" and keeps the connection open
        with socket.create_connection((host, int(port)), timeout=5) as client:
            client.sendall(
                b"POST /v1/open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n"
            )
            # Then it answers 400 at once (int(b"-1", 16) is rfile.read(-1): read until the client hung up)
            assert client.recv(64).startswith(b"HTTP/1.1 400")
    finally:
        gateway.stop()
