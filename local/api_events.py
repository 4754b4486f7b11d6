"""API Gateway REST API (v1) events and results: the proxy integration event, the Lambda
authorizer events (REQUEST and TOKEN), and the proxy result turned back into an HTTP answer.

Shapes follow AWS's documented events and Powertools' test events
(tests/events/apiGatewayProxyEvent.json, apiGatewayAuthorizerRequestEvent.json).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.api_model import RouteMatch
from local.http_messages import HttpRequest, HttpResponse

_PROXY_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


class MalformedProxyResultError(ValueError):
    """API Gateway's "Malformed Lambda proxy response": answered 502."""


@dataclass(frozen=True)
class ApiIdentity:
    """What a request context says about the API that received the request."""

    api_id: str
    stage: str
    account_id: str
    region: str


def path_segments(path: str) -> tuple[str, ...]:
    return tuple(unquote(segment) for segment in path.split("/") if segment)


def method_arn(api: ApiIdentity, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{api.stage}/{method.upper()}{path}"


def proxy_event(
    request: HttpRequest,
    match: RouteMatch,
    api: ApiIdentity,
    *,
    request_id: str,
    received_at: datetime,
    authorizer: Mapping[str, Any] | None,
) -> dict[str, Any]:
    headers, multi_headers = _single_and_multi(_gateway_headers(request))
    query, multi_query = _single_and_multi(tuple(parse_qsl(request.query, keep_blank_values=True)))
    body, is_base64 = _event_body(request.body)
    return {
        "resource": match.route.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(
            request, match, api, request_id=request_id, received_at=received_at, authorizer=authorizer
        ),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def request_authorizer_event(
    request: HttpRequest,
    match: RouteMatch,
    api: ApiIdentity,
    *,
    request_id: str,
    received_at: datetime,
) -> dict[str, Any]:
    headers, multi_headers = _single_and_multi(_gateway_headers(request))
    query, multi_query = _single_and_multi(tuple(parse_qsl(request.query, keep_blank_values=True)))
    return {
        "type": "REQUEST",
        "methodArn": method_arn(api, request.method, request.path),
        "resource": match.route.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or {},
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": query or {},
        "multiValueQueryStringParameters": multi_query or {},
        "pathParameters": dict(match.path_parameters),
        "stageVariables": {},
        "requestContext": _request_context(
            request, match, api, request_id=request_id, received_at=received_at, authorizer=None
        ),
    }


def token_authorizer_event(token: str, arn: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


def _request_context(
    request: HttpRequest,
    match: RouteMatch,
    api: ApiIdentity,
    *,
    request_id: str,
    received_at: datetime,
    authorizer: Mapping[str, Any] | None,
) -> dict[str, Any]:
    domain = request.header("Host") or f"{api.api_id}.execute-api.{api.region}.amazonaws.com"
    context: dict[str, Any] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "extendedRequestId": base64.b64encode(secrets.token_bytes(9)).decode(),
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": request.header("User-Agent"),
            "userArn": None,
        },
        "path": f"/{api.stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(received_at.timestamp() * 1000),
        "resourceId": _resource_id(match.route.resource_path),
        "resourcePath": match.route.resource_path,
        "stage": api.stage,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def _resource_id(resource_path: str) -> str:
    # API Gateway gives each resource a short random id; a stable one keeps logs comparable.
    return hashlib.sha256(resource_path.encode()).hexdigest()[:6]


def _gateway_headers(request: HttpRequest) -> tuple[tuple[str, str], ...]:
    """The client's headers plus the ones API Gateway adds in front of every integration."""
    added: list[tuple[str, str]] = []
    if request.header("X-Forwarded-For") is None:
        added.append(("X-Forwarded-For", request.source_ip))
    if request.header("X-Forwarded-Proto") is None:
        added.append(("X-Forwarded-Proto", "http"))
    added.append(("X-Amzn-Trace-Id", f"Root=1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"))
    return (*request.headers, *added)


def _single_and_multi(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's pair of views: the last value of each name, and every value in order;
    both null when there is nothing."""
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _event_body(body: bytes) -> tuple[str | None, bool]:
    # As API Gateway with no binary media types (this API declares none): always text, each
    # byte that is not UTF-8 replaced by U+FFFD.
    if not body:
        return None, False
    return body.decode("utf-8", "replace"), False


def parse_proxy_result(result: Any) -> HttpResponse:
    """The HTTP answer for a proxy integration's result, or MalformedProxyResultError where API
    Gateway would answer 502: not an object, unknown keys, a non-integer status, a body that
    is not a string, or base64 that does not decode."""
    if not isinstance(result, dict):
        raise MalformedProxyResultError(f"the result is a {type(result).__name__}, not an object")
    unknown = set(result) - _PROXY_RESULT_KEYS
    if unknown:
        raise MalformedProxyResultError(f"unknown keys {sorted(unknown)}")
    status = result.get("statusCode")
    # ASCII digits only: str.isdigit() also admits "²" (which int() refuses) and "٢٠٠".
    if isinstance(status, str) and status.isascii() and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResultError(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResultError(f"body is a {type(body).__name__}, not a string")
    raw = (body or "").encode()
    if result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body or "", validate=True)
        except binascii.Error as error:
            raise MalformedProxyResultError(f"isBase64Encoded but the body is not base64: {error}") from None
    return HttpResponse(status=status, headers=_result_headers(result), body=raw)


def _result_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """headers and multiValueHeaders merged; where both name a header, multiValueHeaders wins."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResultError("headers and multiValueHeaders must be objects")
    merged: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResultError(f"multiValueHeaders[{name!r}] is not a list")
        merged.extend((name, _header_value(name, value)) for value in values)
    in_multi = {name.lower() for name in multi}
    merged.extend((name, _header_value(name, value)) for name, value in single.items() if name.lower() not in in_multi)
    if not any(name.lower() == "content-type" for name, _ in merged):
        merged.append(("Content-Type", "application/json"))
    return merged


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedProxyResultError(f"header {name!r} has a {type(value).__name__} value")
    return str(value)
