"""Lambda authorizers as API Gateway runs them: identity sources, caching, policies, errors."""

from __future__ import annotations

from typing import Any

import pytest

from local.api_model import AuthorizerConfig
from local.authorizer import (
    AuthorizerPolicy,
    GatewayRejectionError,
    LambdaAuthorizer,
    PolicyStatement,
    evaluate_policy,
    parse_authorizer_result,
)
from local.http_messages import HttpRequest
from local.lambda_runtime import Invocation, InvocationError

ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/dev/GET/status/m1"
CONFIG = AuthorizerConfig(
    name="AppKey",
    function_logical_id="AuthorizerFunction",
    payload_type="REQUEST",
    identity_headers=("app-key",),
)


def _policy(effect: str, resource: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "principalId": "org-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context or {"org_id": "org-1"},
    }


def _request(**headers: str) -> HttpRequest:
    return HttpRequest(
        method="GET",
        path="/status/m1",
        query="",
        headers=tuple((name.replace("_", "-"), value) for name, value in headers.items()),
        body=b"",
        source_ip="127.0.0.1",
    )


class FakeAuthorizerFunction:
    def __init__(self, *answers: Invocation) -> None:
        self.answers = list(answers)
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _allowing(resource: str = "arn:aws:execute-api:us-east-1:123456789012:api1/dev/*/*") -> Invocation:
    return Invocation("r", result=_policy("Allow", resource))


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ([("Allow", "execute-api:Invoke", ARN)], "allow"),
        ([("Allow", "execute-api:*", "arn:aws:execute-api:us-east-1:123456789012:api1/dev/*")], "allow"),
        ([("Allow", "*", "*")], "allow"),
        (
            [("Allow", "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:api1/dev/POST/*")],
            "implicit-deny",
        ),
        ([("Allow", "execute-api:Invoke", "*"), ("Deny", "execute-api:Invoke", ARN)], "explicit-deny"),
        ([("Deny", "execute-api:Invoke", "*")], "explicit-deny"),
        (
            [
                (
                    "Allow",
                    "execute-api:Invoke",
                    "arn:aws:execute-api:us-east-1:123456789012:api1/dev/GET/status/m?",
                )
            ],
            "allow",
        ),
        ([], "implicit-deny"),
    ],
)
def test_policy_evaluation(statements: list[tuple[str, str, str]], expected: str) -> None:
    # Given a policy; When it is evaluated for GET /status/m1; Then IAM's rules decide
    policy = AuthorizerPolicy(
        principal_id="p",
        statements=tuple(PolicyStatement(effect, (action,), (resource,)) for effect, action, resource in statements),
        context={},
        usage_identifier_key=None,
    )
    assert evaluate_policy(policy, ARN) == expected


def test_allow_passes_stringified_context_and_principal() -> None:
    # Given an authorizer that allows, with a context of mixed scalar types
    result = _policy("Allow", "*", {"org_id": "org-1", "limit": 5, "trusted": True, "nothing": None})
    authorizer = LambdaAuthorizer(CONFIG, FakeAuthorizerFunction(Invocation("r", result=result)))

    # When a request with an app-key is authorized
    authorized = authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)

    # Then the integration sees the context as strings, plus principalId
    assert authorized.principal_id == "org-1"
    assert authorized.request_context["org_id"] == "org-1"
    assert authorized.request_context["limit"] == "5"
    assert authorized.request_context["trusted"] == "true"
    assert "nothing" not in authorized.request_context
    assert authorized.request_context["principalId"] == "org-1"


def test_missing_identity_header_is_401_without_calling_the_function() -> None:
    # Given a caching authorizer keyed on app-key
    function = FakeAuthorizerFunction(_allowing())
    authorizer = LambdaAuthorizer(CONFIG, function)

    # When a request has no app-key (or an empty one)
    for request in (_request(), _request(app_key="")):
        with pytest.raises(GatewayRejectionError) as rejected:
            authorizer.authorize(request, lambda: {"type": "REQUEST"}, ARN)

        # Then it is UNAUTHORIZED and the function never ran
        assert rejected.value.error.response_type == "UNAUTHORIZED"
    assert function.events == []


def test_results_are_cached_per_identity_for_the_ttl() -> None:
    # Given an authorizer with a 300 s cache
    function = FakeAuthorizerFunction(_allowing())
    clock = FakeClock()
    authorizer = LambdaAuthorizer(CONFIG, function, clock=clock)

    # When the same key calls twice, another key once, then the first again after the TTL
    authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)
    authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)
    authorizer.authorize(_request(app_key="k2"), lambda: {"type": "REQUEST"}, ARN)
    clock.now += 301
    authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)

    # Then the function ran once per key per TTL
    assert len(function.events) == 3


def test_cached_policy_is_evaluated_against_each_method() -> None:
    # Given an authorizer whose policy names only the method it was first called for
    function = FakeAuthorizerFunction(_allowing(resource=ARN))
    authorizer = LambdaAuthorizer(CONFIG, function)
    authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)

    # When the same key calls another method within the TTL
    with pytest.raises(GatewayRejectionError) as rejected:
        authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN.replace("GET", "POST"))

    # Then the cached policy denies it, as API Gateway would
    assert rejected.value.error.response_type == "ACCESS_DENIED"
    assert len(function.events) == 1


def test_no_caching_calls_every_time() -> None:
    config = AuthorizerConfig(
        name="A",
        function_logical_id="F",
        payload_type="REQUEST",
        identity_headers=("app-key",),
        ttl_seconds=0,
    )
    function = FakeAuthorizerFunction(_allowing())
    authorizer = LambdaAuthorizer(config, function)
    for _ in range(2):
        authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)
    assert len(function.events) == 2


@pytest.mark.parametrize(
    ("answer", "response_type", "status"),
    [
        (Invocation("r", result=_policy("Deny", "*")), "ACCESS_DENIED", 403),
        (Invocation("r", error=InvocationError("Exception", "Unauthorized")), "UNAUTHORIZED", 401),
        (Invocation("r", error=InvocationError("KeyError", "boom")), "AUTHORIZER_FAILURE", 500),
        (Invocation("r", result={"principalId": "p"}), "AUTHORIZER_CONFIGURATION_ERROR", 500),
        (
            Invocation("r", result={**_policy("Allow", "*"), "context": {"nested": {"a": 1}}}),
            "AUTHORIZER_CONFIGURATION_ERROR",
            500,
        ),
    ],
)
def test_rejections(answer: Invocation, response_type: str, status: int) -> None:
    # Given an authorizer function that denies, says Unauthorized, crashes or answers garbage
    authorizer = LambdaAuthorizer(CONFIG, FakeAuthorizerFunction(answer))

    # When a request is authorized
    with pytest.raises(GatewayRejectionError) as rejected:
        authorizer.authorize(_request(app_key="k1"), lambda: {"type": "REQUEST"}, ARN)

    # Then the gateway answers with the matching gateway response type
    assert rejected.value.error.response_type == response_type
    assert rejected.value.error.status == status


def test_token_authorizer_event_and_validation_expression() -> None:
    # Given a TOKEN authorizer on Authorization, tokens must start with "Bearer "
    config = AuthorizerConfig(
        name="T", function_logical_id="F", payload_type="TOKEN", validation_expression="Bearer .+"
    )
    function = FakeAuthorizerFunction(_allowing())
    authorizer = LambdaAuthorizer(config, function)

    # When a bad token and then a good one arrive
    with pytest.raises(GatewayRejectionError):
        authorizer.authorize(_request(Authorization="Basic x"), lambda: {}, ARN)
    authorizer.authorize(_request(Authorization="Bearer abc"), lambda: {}, ARN)

    # Then only the good one reached the function, in the TOKEN shape
    assert function.events == [{"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": ARN}]


def test_parse_accepts_a_single_statement_object() -> None:
    result = _policy("Allow", "*")
    result["policyDocument"]["Statement"] = result["policyDocument"]["Statement"][0]
    assert len(parse_authorizer_result(result).statements) == 1
