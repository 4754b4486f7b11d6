"""Routes, authorizers and gateway responses read from the template, and API Gateway's route lookup."""

from __future__ import annotations

from typing import Any

from local.api_model import Route, Throttle, base_path, find_route, read_rest_apis
from local.infrastructure import load_template
from local.settings import REPOSITORY_ROOT


def _route(path: str, method: str = "GET", function: str = "F") -> Route:
    return Route(api_logical_id="Api", resource_path=path, method=method, function_logical_id=function, authorizer=None)


ROUTES = [
    _route("/items/{id}", function="ById"),
    _route("/items/special", function="Special"),
    _route("/items/{id}", method="DELETE", function="Delete"),
    _route("/files/{proxy+}", method="ANY", function="Files"),
]


def test_literal_resource_beats_a_parameter() -> None:
    # Given /items/special and /items/{id}
    # When /items/special is requested
    lookup = find_route(ROUTES, "GET", ("items", "special"))

    # Then the literal resource answers, with no path parameters
    assert lookup.match is not None
    assert lookup.match.route.function_logical_id == "Special"
    assert lookup.match.path_parameters == {}


def test_parameter_and_method() -> None:
    lookup = find_route(ROUTES, "DELETE", ("items", "42"))
    assert lookup.match is not None
    assert lookup.match.route.function_logical_id == "Delete"
    assert lookup.match.path_parameters == {"id": "42"}


def test_method_missing_on_the_most_specific_resource_is_a_miss() -> None:
    # Given DELETE exists on /items/{id} but not on /items/special
    # When DELETE /items/special is requested
    lookup = find_route(ROUTES, "DELETE", ("items", "special"))

    # Then API Gateway does not fall back to the less specific resource
    assert lookup.match is None
    assert lookup.resource_found


def test_greedy_parameter_and_any_method() -> None:
    lookup = find_route(ROUTES, "PATCH", ("files", "a", "b.txt"))
    assert lookup.match is not None
    assert lookup.match.path_parameters == {"proxy": "a/b.txt"}


def test_unknown_path_is_a_miss() -> None:
    lookup = find_route(ROUTES, "GET", ("items",))
    assert lookup.match is None
    assert not lookup.resource_found


def test_template_routes_authorizer_and_gateway_responses() -> None:
    # Given the project's template
    template: dict[str, Any] = load_template(REPOSITORY_ROOT / "template.yaml")

    # When its APIs are read
    apis = read_rest_apis(template, {"Stage": "dev"})

    # Then the API has its stage, the app-key authorizer and the routes, receipts without authorizer
    api = apis["SmsApi"]
    assert api.stage == "dev"
    authorizer = api.authorizers["AppKeyAuthorizer"]
    assert authorizer.payload_type == "REQUEST"
    assert authorizer.identity_headers == ("app-key",)
    assert authorizer.ttl_seconds == 300
    assert authorizer.function_logical_id == "AuthorizerFunction"
    routes = {(route.method, route.resource_path): route for route in api.routes}
    assert routes[("POST", "/api/v1/lisoloo/sms-api/send")].authorizer == "AppKeyAuthorizer"
    assert routes[("POST", "/api/v1/lisoloo/sms-api/receipts/{carrier}")].authorizer is None
    assert api.gateway_responses["UNAUTHORIZED"].status_code == 401
    assert base_path(api.routes) == "/api/v1/lisoloo/sms-api"
    # Merchant routes are metered by the usage plan (the authorizer's key), carriers' are not
    assert api.api_key_source == "AUTHORIZER"
    assert routes[("POST", "/api/v1/lisoloo/sms-api/send")].api_key_required
    assert not routes[("POST", "/api/v1/lisoloo/sms-api/receipts/{carrier}")].api_key_required
    assert api.usage_plan_throttle == Throttle(rate_per_second=10.0, burst=20)
    assert api.gateway_responses["THROTTLED"].headers == {"Retry-After": "1"}
