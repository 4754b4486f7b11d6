"""The REST APIs as template.yaml declares them: routes from functions' ``Type: Api`` events,
authorizers and gateway responses from the ``AWS::Serverless::Api`` resources (``Globals.Api``
merged in), the throttle of the usage plan attached to each API, and the route lookup API
Gateway does (most specific resource first, then method).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# SAM's name for the API it creates for Api events that give no RestApiId.
IMPLICIT_API = "ServerlessRestApi"
_IMPLICIT_API_STAGE = "Prod"
_DEFAULT_REAUTHORIZE_SECONDS = 300


class UnsupportedTemplateError(ValueError):
    """The template uses an API feature the local gateway does not serve."""


@dataclass(frozen=True)
class AuthorizerConfig:
    name: str
    function_logical_id: str
    payload_type: Literal["REQUEST", "TOKEN"]
    # REQUEST: header and query-string identity sources; TOKEN: the one header holding the token.
    identity_headers: tuple[str, ...] = ()
    identity_query_strings: tuple[str, ...] = ()
    token_header: str = "Authorization"  # noqa: S105 - a header name, not a secret
    validation_expression: str | None = None
    ttl_seconds: int = _DEFAULT_REAUTHORIZE_SECONDS


@dataclass(frozen=True)
class GatewayResponseConfig:
    status_code: int | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Throttle:
    """A usage plan's throttle: steady requests per second and burst, per API key."""

    rate_per_second: float
    burst: int


@dataclass(frozen=True)
class Route:
    api_logical_id: str
    resource_path: str
    method: str
    function_logical_id: str
    authorizer: str | None
    # Metered by usage plans (ApiKeyRequired): only these routes are throttled per key.
    api_key_required: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        return _split(self.resource_path)


@dataclass(frozen=True)
class RestApi:
    logical_id: str
    stage: str
    authorizers: Mapping[str, AuthorizerConfig]
    gateway_responses: Mapping[str, GatewayResponseConfig]
    routes: tuple[Route, ...]
    # Where metered routes find their API key: the x-api-key header, or the authorizer's
    # usageIdentifierKey (ApiKeySourceType: AUTHORIZER, the only one served locally).
    api_key_source: Literal["HEADER", "AUTHORIZER"] = "HEADER"
    # The throttle of the (first) usage plan attached to this API; None: no usage plan.
    usage_plan_throttle: Throttle | None = None


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class RouteLookup:
    """The outcome of a lookup: a match, or the resource exists but not for this method
    (API Gateway answers both misses the same way, but the log line differs)."""

    match: RouteMatch | None
    resource_found: bool = False


def read_rest_apis(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, RestApi]:
    """Every REST API with at least one route, by logical id."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    global_api: Mapping[str, Any] = template.get("Globals", {}).get("Api", {}) or {}
    api_properties = {
        logical_id: {**global_api, **(resource.get("Properties") or {})}
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Api"
    }
    routes = _read_routes(resources, api_properties)
    defaults = {name: str(spec.get("Default")) for name, spec in (template.get("Parameters") or {}).items()}
    if any(route.api_logical_id == IMPLICIT_API for route in routes):
        api_properties[IMPLICIT_API] = {**global_api, "StageName": _IMPLICIT_API_STAGE}

    apis: dict[str, RestApi] = {}
    for logical_id, properties in api_properties.items():
        api_routes = tuple(route for route in routes if route.api_logical_id == logical_id)
        if not api_routes:
            continue
        auth = properties.get("Auth") or {}
        api_key_source: Literal["HEADER", "AUTHORIZER"] = (
            "AUTHORIZER" if properties.get("ApiKeySourceType") == "AUTHORIZER" else "HEADER"
        )
        if api_key_source == "HEADER" and any(route.api_key_required for route in api_routes):
            raise UnsupportedTemplateError(
                f"{logical_id}: ApiKeyRequired is served locally with ApiKeySourceType AUTHORIZER only"
            )
        apis[logical_id] = RestApi(
            logical_id=logical_id,
            stage=str(_parameter_value(properties.get("StageName", _IMPLICIT_API_STAGE), parameters)),
            authorizers={name: _authorizer(name, config) for name, config in (auth.get("Authorizers") or {}).items()},
            gateway_responses={
                name: _gateway_response(config) for name, config in (properties.get("GatewayResponses") or {}).items()
            },
            routes=api_routes,
            api_key_source=api_key_source,
            usage_plan_throttle=_usage_plan_throttle(resources, logical_id, {**defaults, **parameters}),
        )
    _check_unique_routes([route for api in apis.values() for route in api.routes])
    return apis


def _read_routes(resources: Mapping[str, Any], api_properties: Mapping[str, Mapping[str, Any]]) -> list[Route]:
    routes: list[Route] = []
    for function_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            properties = event.get("Properties") or {}
            api_id = _referenced_logical_id(properties.get("RestApiId")) or IMPLICIT_API
            api_auth = (api_properties.get(api_id) or {}).get("Auth") or {}
            authorizer = (properties.get("Auth") or {}).get("Authorizer", api_auth.get("DefaultAuthorizer"))
            api_key_required = (properties.get("Auth") or {}).get(
                "ApiKeyRequired", api_auth.get("ApiKeyRequired", False)
            )
            routes.append(
                Route(
                    api_logical_id=api_id,
                    resource_path=str(properties["Path"]),
                    method=str(properties["Method"]).upper(),
                    function_logical_id=function_id,
                    authorizer=None if authorizer in (None, "NONE") else str(authorizer),
                    api_key_required=bool(api_key_required),
                )
            )
    return routes


def _usage_plan_throttle(resources: Mapping[str, Any], api_id: str, parameters: Mapping[str, str]) -> Throttle | None:
    """The Throttle of the first AWS::ApiGateway::UsagePlan whose ApiStages name ``api_id``."""
    for resource in resources.values():
        if resource.get("Type") != "AWS::ApiGateway::UsagePlan":
            continue
        properties = resource.get("Properties") or {}
        stages = properties.get("ApiStages") or []
        if not any(_referenced_logical_id(stage.get("ApiId")) == api_id for stage in stages):
            continue
        throttle = properties.get("Throttle")
        if not throttle:
            return None
        return Throttle(
            rate_per_second=float(_parameter_value(throttle["RateLimit"], parameters)),
            burst=int(_parameter_value(throttle["BurstLimit"], parameters)),
        )
    return None


def _check_unique_routes(routes: list[Route]) -> None:
    # All APIs share one local port, so two APIs may not declare the same method and path.
    seen: dict[tuple[str, str], Route] = {}
    for route in routes:
        key = (
            route.method,
            "/".join("{}" if segment.startswith("{") else segment for segment in route.segments),
        )
        if key in seen:
            raise UnsupportedTemplateError(
                f"{route.method} {route.resource_path} is declared by {seen[key].function_logical_id} "
                f"and {route.function_logical_id}"
            )
        seen[key] = route


def _authorizer(name: str, config: Mapping[str, Any]) -> AuthorizerConfig:
    function_id = _referenced_logical_id(config.get("FunctionArn"))
    if function_id is None:
        raise UnsupportedTemplateError(f"authorizer {name}: only Lambda authorizers of this template are served")
    identity = config.get("Identity") or {}
    payload_type = str(config.get("FunctionPayloadType", "TOKEN")).upper()
    if payload_type not in ("REQUEST", "TOKEN"):
        raise UnsupportedTemplateError(f"authorizer {name}: FunctionPayloadType {payload_type}")
    if identity.get("StageVariables") or identity.get("Context"):
        raise UnsupportedTemplateError(f"authorizer {name}: only header and query-string identity sources")
    return AuthorizerConfig(
        name=name,
        function_logical_id=function_id,
        payload_type="REQUEST" if payload_type == "REQUEST" else "TOKEN",
        identity_headers=tuple(identity.get("Headers") or ()),
        identity_query_strings=tuple(identity.get("QueryStrings") or ()),
        token_header=str(identity.get("Header", "Authorization")),
        validation_expression=identity.get("ValidationExpression"),
        ttl_seconds=int(identity.get("ReauthorizeEvery", _DEFAULT_REAUTHORIZE_SECONDS)),
    )


def _gateway_response(config: Mapping[str, Any]) -> GatewayResponseConfig:
    headers = ((config.get("ResponseParameters") or {}).get("Headers")) or {}
    status = config.get("StatusCode")
    return GatewayResponseConfig(
        status_code=int(status) if status is not None else None,
        templates=dict(config.get("ResponseTemplates") or {}),
        # Static values are quoted ('value') in API Gateway's mapping syntax; others are not served.
        headers={
            name: value.strip("'")
            for name, value in headers.items()
            if isinstance(value, str) and value.startswith("'") and value.endswith("'")
        },
    )


def _referenced_logical_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            # SAM's ``!Ref Function.Alias`` (AutoPublishAlias): locally, the function itself.
            return str(value["Ref"]).removesuffix(".Alias")
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _parameter_value(value: Any, parameters: Mapping[str, str]) -> Any:
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    return value


def _split(path: str) -> tuple[str, ...]:
    return tuple(segment for segment in path.split("/") if segment)


def _segment_rank(segment: str) -> int:
    """Lower is more specific: a literal beats {param}, which beats a greedy {proxy+}."""
    if segment.endswith("+}"):
        return 2
    return 1 if segment.startswith("{") else 0


def _match_resource(segments: tuple[str, ...], path: tuple[str, ...]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.endswith("+}"):
            if index >= len(path):
                return None
            parameters[segment[1:-2]] = "/".join(path[index:])
            return parameters
        if index >= len(path):
            return None
        if segment.startswith("{"):
            parameters[segment[1:-1]] = path[index]
        elif segment != path[index]:
            return None
    return parameters if len(segments) == len(path) else None


def find_route(routes: list[Route] | tuple[Route, ...], method: str, path_segments: tuple[str, ...]) -> RouteLookup:
    """API Gateway's lookup: the most specific resource whose template matches the path wins,
    then the method on that resource (or ANY); a resource without the method is a miss even if a
    less specific resource has it. ``path_segments`` are already percent-decoded."""
    candidates: list[tuple[tuple[int, ...], str, dict[str, str]]] = []
    for resource_path in {route.resource_path for route in routes}:
        segments = _split(resource_path)
        parameters = _match_resource(segments, path_segments)
        if parameters is not None:
            candidates.append((tuple(_segment_rank(segment) for segment in segments), resource_path, parameters))
    if not candidates:
        return RouteLookup(match=None)
    _, resource_path, parameters = min(candidates, key=lambda candidate: candidate[0])
    on_resource = {route.method: route for route in routes if route.resource_path == resource_path}
    route = on_resource.get(method.upper()) or on_resource.get("ANY")
    if route is None:
        return RouteLookup(match=None, resource_found=True)
    return RouteLookup(match=RouteMatch(route=route, path_parameters=parameters))


def base_path(routes: list[Route] | tuple[Route, ...]) -> str:
    """The literal path prefix every route shares (``/api/v1/lisoloo/sms-api``): the banner's base URL."""
    prefixes = [[segment for segment in _split(route.resource_path)[:-1]] for route in routes]
    if not prefixes:
        return ""
    common: list[str] = []
    for parts in zip(*prefixes, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        common.append(parts[0])
    return "/" + "/".join(common) if common else ""
