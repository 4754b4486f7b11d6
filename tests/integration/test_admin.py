"""lisoloo-admin against the stack built from template.yaml (moto), and its API Gateway half
against moto's API Gateway: the same code the operator runs against AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lisoloo_admin.cli import main, run
from lisoloo_admin.operations import Admin
from lisoloo_admin.target import AdminError, Target
from lisoloo_admin.usage_plans import UsagePlans
from local.infrastructure import DeployedStack
from tests.integration.conftest import Harness
from tests.integration.test_authorizer import authorize


def admin(harness: Harness, *arguments: str) -> Any:
    return run(["--table", harness.table_name, *arguments], environ={})


def effect(app_key: str) -> str:
    return str(authorize(app_key)["policyDocument"]["Statement"][0]["Effect"])


def test_a_new_organization_gets_one_key_that_the_authorizer_accepts(harness: Harness) -> None:
    # When an operator creates an organization
    created = admin(harness, "create-org", "Acme Ltd", "--country", "tz", "--label", "backend")

    # Then its key works, carries the organization and its country, and is listed by hint only
    policy = authorize(created["app_key"])
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"] == {"org_id": created["org_id"], "default_country": "TZ"}
    (listed,) = admin(harness, "keys", "list", created["org_id"])
    assert listed["key_id"] == created["key_id"]
    assert listed["hint"] == created["hint"] == f"{created['app_key'][:4]}…{created['app_key'][-4:]}"
    assert listed["label"] == "backend"
    assert listed["active"] is True
    assert created["app_key"] not in str(listed)


def test_keys_are_stored_hashed_and_never_listed(harness: Harness) -> None:
    created = admin(harness, "create-org", "Hashed Ltd")
    items = boto3.client("dynamodb").scan(TableName=harness.table_name)["Items"]
    assert created["app_key"] not in str(items)


def test_a_revoked_key_is_denied_by_the_authorizer(harness: Harness) -> None:
    # Given an organization with two keys
    created = admin(harness, "create-org", "Revokes Ltd")
    second = admin(harness, "keys", "issue", created["org_id"])
    assert effect(second["app_key"]) == "Allow"

    # When one is revoked
    revoked = admin(harness, "keys", "revoke", created["org_id"], second["key_id"])

    # Then the authorizer denies it (API Gateway's cache may still pass it up to 5 minutes), the other works
    assert effect(second["app_key"]) == "Deny"
    assert effect(created["app_key"]) == "Allow"
    assert revoked["active"] is False
    assert revoked["stops_working_by"] > revoked["revoked_at"]
    listed = {key["key_id"]: key["active"] for key in admin(harness, "keys", "list", created["org_id"])}
    assert listed == {created["key_id"]: True, second["key_id"]: False}


def test_rotation_issues_a_new_key_and_retires_the_old_after_its_grace(harness: Harness) -> None:
    # Given an organization whose key is rotated with an hour's grace
    created = admin(harness, "create-org", "Rotates Ltd")
    rotated = admin(harness, "keys", "rotate", created["org_id"], created["key_id"], "--grace-seconds", "3600")

    # Then both work now, and the old one no longer once the grace has passed
    assert effect(rotated["app_key"]) == "Allow"
    assert effect(created["app_key"]) == "Allow"
    repository = harness.repository()
    from lisoloo.credentials import hash_secret

    later = datetime.now(UTC) + timedelta(hours=2)
    assert repository.organizations.find_app_key(hash_secret(created["app_key"]), now=later) is None
    assert repository.organizations.find_app_key(hash_secret(rotated["app_key"]), now=later) is not None


def test_a_second_revoke_never_moves_a_revocation_later(harness: Harness) -> None:
    created = admin(harness, "create-org", "Twice Ltd")
    first = admin(harness, "keys", "revoke", created["org_id"], created["key_id"])
    Admin(Target(harness.table_name, boto3.Session()), now=datetime.now(UTC) + timedelta(days=1)).revoke(
        created["org_id"], created["key_id"]
    )
    (listed,) = admin(harness, "keys", "list", created["org_id"])
    assert listed["revoked_at"] == first["revoked_at"]


def test_settings_country_sender_ids_rate_limit_and_webhook(harness: Harness) -> None:
    created = admin(harness, "create-org", "Settings Ltd")
    org_id = created["org_id"]

    admin(harness, "set-country", org_id, "ug")
    admin(harness, "set-sender-ids", org_id, "ACME", "ACME-OTP")
    limited = admin(harness, "rate-limit", org_id, "--rate", "2", "--burst", "3")
    # (no DNS here: a loopback receiver, which only a stack that allows loopback webhooks accepts)
    webhook = run(
        ["--table", harness.table_name, "set-webhook", org_id, "http://127.0.0.1:9/sms"],
        environ={"WEBHOOK_ALLOW_LOOPBACK": "true"},
    )

    shown = admin(harness, "show", org_id)
    assert shown["default_country"] == "UG"
    assert shown["sender_ids"] == ["ACME", "ACME-OTP"]
    assert shown["rate_limit"] == {"rate_per_second": 2, "burst": 3}
    assert limited["enforced_by"] == "the table (local gateway)"
    assert shown["webhook_url"] == "http://127.0.0.1:9/sms"
    assert webhook["secret"].startswith("whsec_")
    # The authorizer reads the new country straight away
    assert authorize(created["app_key"])["context"]["default_country"] == "UG"

    admin(harness, "rate-limit", org_id, "--default")
    admin(harness, "set-sender-ids", org_id)
    shown = admin(harness, "show", org_id)
    assert shown["rate_limit"] is None
    assert shown["sender_ids"] == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["set-country", "{org}", "XX"],
        ["set-sender-ids", "{org}", "TOO-LONG-SENDER-ID"],
        ["set-sender-ids", "{org}", "ACME\n"],  # "$" matched before a final newline
        ["rate-limit", "{org}", "--rate", "5"],
        ["rate-limit", "{org}", "--rate", "0", "--burst", "1"],
        ["keys", "revoke", "{org}", "key_000000000000"],
        ["show", "org_0000000000000000"],
    ],
)
def test_bad_input_is_refused_with_a_message(harness: Harness, arguments: list[str]) -> None:
    org_id = admin(harness, "create-org", "Refusals Ltd")["org_id"]
    with pytest.raises(AdminError):
        admin(harness, *[argument.format(org=org_id) for argument in arguments])


@pytest.mark.parametrize(
    "arguments",
    [
        ["rate-limit", "{org}", "--rate", "\u0665", "--burst", "10"],  # int() reads an Arabic-Indic 5 as 5
        ["rate-limit", "{org}", "--rate", "5", "--burst", " 10"],
        ["rate-limit", "{org}", "--rate", "1_0", "--burst", "10"],
        ["keys", "rotate", "{org}", "key_000000000000", "--grace-seconds", "+60"],
        ["replay-dlq", "dispatch", "--max", "\u0661\u0660"],
    ],
)
def test_numbers_are_ascii_digits(harness: Harness, arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given an organization
    org_id = admin(harness, "create-org", "Digits Ltd")["org_id"]
    # When a number is given in other digits, with a space, a sign or an underscore
    with pytest.raises(SystemExit):
        admin(harness, *[argument.format(org=org_id) for argument in arguments])
    # Then the command line is refused before anything is done, naming the value
    assert "is not a whole number in ASCII digits" in capsys.readouterr().err
    assert admin(harness, "show", org_id)["rate_limit"] is None


def test_a_registered_carrier_token_authenticates_receipts_and_retires_the_previous_one(harness: Harness) -> None:
    # When the operator registers the carrier again (a leaked token, a new carrier account)
    registered = admin(harness, "register-carrier", "sandbox")
    assert registered["carrier"] == "sandbox" and registered["receipt_token"].startswith("lct_")
    # Then receipts carry the new token, and the old one is refused
    assert harness.receipt("unknown-reference", "delivered", token=registered["receipt_token"])[0] == 200
    assert harness.receipt("unknown-reference", "delivered", token=harness.carrier_token)[0] == 401
    with pytest.raises(AdminError):
        admin(harness, "register-carrier", "Sandbox; drop")


def test_an_unsafe_webhook_url_is_refused_with_exit_status_2(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    org_id = admin(harness, "create-org", "Unsafe Ltd")["org_id"]
    status = main(["--table", harness.table_name, "set-webhook", org_id, "https://10.0.0.1/hooks"])
    assert status == 2
    assert "private" in capsys.readouterr().err


def test_the_cli_finds_the_table_from_the_stack_outputs(stack: DeployedStack, harness: Harness) -> None:
    # The local stack's moto has no usage plans, so the stack's outputs name the table only
    created = run(["--stack", stack.stack_name, "create-org", "Stack Ltd"], environ={})
    assert effect(created["app_key"]) == "Allow"


def test_text_output_shows_the_key_once_with_a_warning(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--table", harness.table_name, "create-org", "Text Ltd"]) == 0
    printed = capsys.readouterr().out
    assert "app_key: lsk_" in printed
    assert "shown this once" in printed


@pytest.mark.parametrize(
    "arguments",
    [
        ["--json", "keys", "list", "{org}"],  # before the command
        ["keys", "list", "{org}", "--json"],  # after it
        ["keys", "--json", "list", "{org}"],  # between a command and its action
    ],
)
def test_json_output_is_asked_for_before_or_after_the_command(
    harness: Harness, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    org_id = admin(harness, "create-org", "Json Ltd")["org_id"]
    argv = ["--table", harness.table_name, *(argument.format(org=org_id) for argument in arguments)]
    assert main(argv) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["active"] is True
    # And without it anywhere, the output is text
    assert main(["--table", harness.table_name, "keys", "list", org_id]) == 0
    assert not capsys.readouterr().out.startswith("[")


# --- the API Gateway half, on moto's API Gateway -----------------------------------------------


@pytest.fixture
def usage_plans(harness: Harness) -> UsagePlans:
    client = boto3.client("apigateway")
    api_id = client.create_rest_api(name="usage-plan-test")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="dev")
    plan_id = client.create_usage_plan(
        name="lisoloo-sms-api-dev-default",
        apiStages=[{"apiId": api_id, "stage": "dev"}],
        throttle={"rateLimit": 10.0, "burstLimit": 20},
    )["id"]
    return UsagePlans(client, plan_id, api_id, "dev")


def plan_of(usage_plans: UsagePlans, org_id: str) -> dict[str, Any]:
    client = usage_plans.client
    (key,) = [k for k in client.get_api_keys(includeValues=True)["items"] if k["name"] == f"lisoloo-{org_id}"]
    assert key["value"] == org_id  # what the authorizer returns as usageIdentifierKey
    plans = [
        plan
        for plan in client.get_usage_plans()["items"]
        if any(k["id"] == key["id"] for k in client.get_usage_plan_keys(usagePlanId=plan["id"])["items"])
    ]
    (plan,) = plans
    return plan


def test_organizations_join_the_default_plan_and_move_to_their_own(harness: Harness, usage_plans: UsagePlans) -> None:
    # Given an organization created against a stack with usage plans
    target = Target(
        harness.table_name,
        boto3.Session(),
        usage_plan_id=usage_plans.default_plan_id,
        rest_api_id=usage_plans.rest_api_id,
        stage="dev",
    )
    operator = Admin(target)
    org_id = operator.create_org("Planned Ltd", "KE", None, None)["org_id"]
    assert plan_of(usage_plans, org_id)["id"] == usage_plans.default_plan_id

    # When it gets limits of its own, then new ones, then the default again
    shown = operator.set_rate_limit(org_id, 2, 4)
    own = plan_of(usage_plans, org_id)
    assert own["name"] == f"lisoloo-sms-api-dev-{org_id}"
    assert own["throttle"] == {"rateLimit": 2.0, "burstLimit": 4}
    assert shown["enforced_by"] == "API Gateway usage plan"
    operator.set_rate_limit(org_id, 5, 9)
    assert plan_of(usage_plans, org_id)["throttle"] == {"rateLimit": 5.0, "burstLimit": 9}
    operator.set_rate_limit(org_id, None, None)

    # Then it is back in the default plan and its own plan is gone
    assert plan_of(usage_plans, org_id)["id"] == usage_plans.default_plan_id
    assert all(plan["name"] != own["name"] for plan in usage_plans.client.get_usage_plans()["items"])
    assert operator.show(org_id)["rate_limit"] is None


def test_sender_ids_set_by_the_cli_are_enforced_on_send(harness: Harness) -> None:
    from tests.conftest import lambda_context, load_event
    from tests.integration.conftest import load_function

    # Given an organization registered for two sender ids
    created = admin(harness, "create-org", "Senders Ltd")
    admin(harness, "set-sender-ids", created["org_id"], "ACME", "ACME-OTP")
    policy = authorize(created["app_key"])
    assert policy["context"]["sender_ids"] == "ACME,ACME-OTP"

    def send(body: dict[str, Any]) -> dict[str, Any]:
        event = load_event("send-single")
        event["requestContext"]["authorizer"] = {**policy["context"], "principalId": created["org_id"]}
        event["body"] = json.dumps(body)
        event["headers"].pop("Idempotency-Key", None)
        result: dict[str, Any] = load_function("send").lambda_handler(event, lambda_context())
        return result

    # When it sends as another sender id, as one of its own, and as none
    other = send({"to": ["+254712345678"], "message": "hi", "sender_id": "OTHER"})
    own = send({"to": ["+254712345678"], "message": "hi", "sender_id": "ACME-OTP"})
    default = send({"to": ["+254712345678"], "message": "hi"})

    # Then the stranger is refused, and a message without one goes out as its first
    assert other["statusCode"] == 422
    assert json.loads(other["body"])["detail"][0]["loc"] == ["body", "sender_id"]
    repository = harness.repository()
    sent = {
        name: repository.messages.get(created["org_id"], json.loads(reply["body"])["data"]["message_id"]).sender_id
        for name, reply in (("own", own), ("default", default))
    }
    assert sent == {"own": "ACME-OTP", "default": "ACME"}
