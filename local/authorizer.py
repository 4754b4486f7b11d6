"""Lambda authorizers as API Gateway runs them in front of a route.

* Identity sources are checked first: with caching on (or for TOKEN authorizers) a missing
  or empty source answers 401 without calling the function.
* The function's answer is an IAM policy; it is cached for ``ReauthorizeEvery`` seconds keyed
  by the identity values, and the *cached policy* is evaluated against each request's method
  ARN, so a policy naming only the first method it was issued for denies the next one, exactly
  the surprise API Gateway has in store.
* An error whose message is ``Unauthorized`` is the protocol's 401; any other error is a 500.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from local.api_events import token_authorizer_event
from local.api_model import AuthorizerConfig
from local.gateway_responses import (
    ACCESS_DENIED,
    AUTHORIZER_CONFIGURATION_ERROR,
    AUTHORIZER_FAILURE,
    NOT_ALLOWED,
    UNAUTHORIZED,
    GatewayError,
)
from local.http_messages import HttpRequest
from local.lambda_runtime import Invocation

logger = logging.getLogger("local.authorizer")

Effect = Literal["allow", "explicit-deny", "implicit-deny"]


class GatewayRejectionError(Exception):
    """The request ends here, with this gateway response."""

    def __init__(self, error: GatewayError, detail: str = "") -> None:
        super().__init__(detail or error.response_type or str(error.status))
        self.error = error


class InvalidAuthorizerResultError(ValueError):
    pass


@dataclass(frozen=True)
class PolicyStatement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class AuthorizerPolicy:
    principal_id: str
    statements: tuple[PolicyStatement, ...]
    context: Mapping[str, str]
    usage_identifier_key: str | None


@dataclass(frozen=True)
class Authorized:
    principal_id: str
    # requestContext.authorizer for the integration: the context plus principalId.
    request_context: Mapping[str, Any]
    usage_identifier_key: str | None


def parse_authorizer_result(result: Any) -> AuthorizerPolicy:
    if not isinstance(result, dict):
        raise InvalidAuthorizerResultError("the authorizer result is not an object")
    principal_id = result.get("principalId")
    document = result.get("policyDocument")
    if not isinstance(principal_id, str) or not isinstance(document, dict):
        raise InvalidAuthorizerResultError("principalId (string) and policyDocument (object) are required")
    raw_statements = document.get("Statement")
    raw_statements = [raw_statements] if isinstance(raw_statements, dict) else raw_statements
    if not isinstance(raw_statements, list):
        raise InvalidAuthorizerResultError("policyDocument.Statement must be a list")
    statements = tuple(
        PolicyStatement(
            effect=str(statement.get("Effect", "")),
            actions=_strings(statement.get("Action")),
            resources=_strings(statement.get("Resource")),
        )
        for statement in raw_statements
    )
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise InvalidAuthorizerResultError("context must be an object")
    usage_key = result.get("usageIdentifierKey")
    return AuthorizerPolicy(
        principal_id=principal_id,
        statements=statements,
        context=_stringified_context(context),
        usage_identifier_key=str(usage_key) if usage_key is not None else None,
    )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidAuthorizerResultError(f"Action and Resource must be strings or lists of strings, not {value!r}")


def _stringified_context(context: Mapping[str, Any]) -> dict[str, str]:
    """REST APIs hand the context to integrations as strings; objects and arrays are refused
    (API Gateway answers 500 for them). Null values are dropped."""
    stringified: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, dict | list):
            raise InvalidAuthorizerResultError(f"context[{key!r}] is an {type(value).__name__}; only scalars")
        if value is None:
            continue
        stringified[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return stringified


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    # IAM wildcards: * is any run of characters (slashes and colons too), ? one character.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _covers(patterns: tuple[str, ...], value: str) -> bool:
    return any(_arn_pattern(pattern).fullmatch(value) for pattern in patterns)


def evaluate_policy(policy: AuthorizerPolicy, arn: str) -> Effect:
    """IAM's rule for one request: an explicit Deny wins, then any Allow, else deny."""
    effect: Effect = "implicit-deny"
    for statement in policy.statements:
        if not (_covers(statement.actions, "execute-api:Invoke") and _covers(statement.resources, arn)):
            continue
        if statement.effect == "Deny":
            return "explicit-deny"
        if statement.effect == "Allow":
            effect = "allow"
    return effect


class LambdaAuthorizer:
    def __init__(
        self,
        config: AuthorizerConfig,
        invoke: Callable[[dict[str, Any]], Invocation],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._invoke = invoke
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, AuthorizerPolicy]] = {}
        self._lock = threading.Lock()

    def identity(self, request: HttpRequest) -> tuple[str, ...] | None:
        """The identity source values in order, or None if one is missing or empty."""
        if self.config.payload_type == "TOKEN":
            token = request.header(self.config.token_header)
            return (token,) if token else None
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        values: list[str] = []
        for value in [request.header(name) for name in self.config.identity_headers] + [
            query.get(name) for name in self.config.identity_query_strings
        ]:
            if not value:
                return None
            values.append(value)
        return tuple(values)

    def authorize(self, request: HttpRequest, request_event: Callable[[], dict[str, Any]], arn: str) -> Authorized:
        identity = self.identity(request)
        caching = self.config.ttl_seconds > 0
        if identity is None and (caching or self.config.payload_type == "TOKEN"):
            raise GatewayRejectionError(UNAUTHORIZED, "identity source missing")
        if (
            identity is not None
            and self.config.validation_expression
            and not re.fullmatch(self.config.validation_expression, identity[0])
        ):
            raise GatewayRejectionError(UNAUTHORIZED, "token fails the validation expression")

        started = self._clock()
        policy = self._cached(identity) if caching and identity is not None else None
        if policy is None:
            if self.config.payload_type == "TOKEN" and identity is not None:
                event = token_authorizer_event(identity[0], arn)
            else:
                event = request_event()
            policy = self._call(event)
            if caching and identity is not None:
                with self._lock:
                    self._cache[identity] = (self._clock() + self.config.ttl_seconds, policy)

        effect = evaluate_policy(policy, arn)
        if effect == "explicit-deny":
            raise GatewayRejectionError(ACCESS_DENIED, f"the policy denies {arn}")
        if effect == "implicit-deny":
            raise GatewayRejectionError(NOT_ALLOWED, f"no statement allows {arn}")
        return Authorized(
            principal_id=policy.principal_id,
            request_context={
                **policy.context,
                "principalId": policy.principal_id,
                "integrationLatency": int((self._clock() - started) * 1000),
            },
            usage_identifier_key=policy.usage_identifier_key,
        )

    def _cached(self, identity: tuple[str, ...]) -> AuthorizerPolicy | None:
        with self._lock:
            entry = self._cache.get(identity)
            if entry is None:
                return None
            expires_at, policy = entry
            if expires_at <= self._clock():
                del self._cache[identity]
                return None
            return policy

    def _call(self, event: dict[str, Any]) -> AuthorizerPolicy:
        invocation = self._invoke(event)
        if invocation.error is not None:
            if invocation.error.message == "Unauthorized":
                raise GatewayRejectionError(UNAUTHORIZED, "the authorizer answered Unauthorized")
            logger.error(
                "authorizer %s failed (%s: %s)\n%s",
                self.config.name,
                invocation.error.error_type,
                invocation.error.message,
                invocation.error.trace,
            )
            raise GatewayRejectionError(AUTHORIZER_FAILURE, invocation.error.message)
        try:
            return parse_authorizer_result(invocation.result)
        except InvalidAuthorizerResultError as error:
            logger.error("authorizer %s returned an invalid result: %s", self.config.name, error)
            raise GatewayRejectionError(AUTHORIZER_CONFIGURATION_ERROR, str(error)) from None
