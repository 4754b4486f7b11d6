"""The REQUEST authorizer: app-key → organization, by hash only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import lambda_context, load_event
from tests.integration.conftest import Harness, load_function


def authorize(app_key: str | None, header: str = "app-key") -> dict[str, Any]:
    event = load_event("authorizer-request")
    event["headers"].pop("app-key")
    if app_key is not None:
        event["headers"][header] = app_key
    result: dict[str, Any] = load_function("authorizer").lambda_handler(event, lambda_context())
    return result


def test_a_valid_key_allows_every_route_with_the_organization_in_context(harness: Harness) -> None:
    merchant = harness.new_merchant(default_country="TZ")
    policy = authorize(merchant.app_key)
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    # Cached per key across routes, so it must cover the whole API
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/*/*"]
    assert policy["context"] == {"org_id": merchant.org_id, "default_country": "TZ"}
    assert policy["principalId"] == merchant.org_id
    assert policy["usageIdentifierKey"] == merchant.org_id


def test_header_names_are_case_insensitive(harness: Harness) -> None:
    merchant = harness.new_merchant()
    assert authorize(merchant.app_key, header="App-Key")["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("app_key", [None, "", "lsk_wrong", "x" * 5000])
def test_missing_or_unknown_keys_are_denied(harness: Harness, app_key: str | None) -> None:
    policy = authorize(app_key)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in policy or not policy["context"]


def test_keys_are_stored_only_as_hashes(harness: Harness) -> None:
    import boto3

    merchant = harness.new_merchant()
    items = boto3.client("dynamodb").scan(TableName=harness.table_name)["Items"]
    assert merchant.app_key not in str(items)
