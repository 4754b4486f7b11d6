"""Build checks on template.yaml, offline: cfn-lint on the SAM template and on its translation,
then the translated resources asserted (layer, triggers, permissions, alarms, throttling) and
every Handler imported with nothing but the layer's requirements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from packaging.requirements import Requirement

from lisoloo.deadlines import retry_timing_problem
from lisoloo.settings import TimeSettings
from local.infrastructure import load_template, translate_template
from tests.conftest import ROOT, TEMPLATE

REGION = "us-east-1"
LAYER_REQUIREMENTS = ROOT / "layers" / "core" / "requirements.txt"
# Imported only if installed (botocore: ``try: from certifi import where``), so not a requirement.
OPTIONAL_IMPORTS = {"certifi"}

# --- what each function may do: (resource, actions). Resources are logical ids; "SSM:…" and
# "SECRETS:…" are the carrier-secrets prefix in Parameter Store / Secrets Manager. -----------
TABLE_READ = {"dynamodb:GetItem"}
CARRIER_SECRETS_SSM = ("SSM:${CarrierSecretsPrefix}/*", {"ssm:GetParameter"})
CARRIER_SECRETS_SM = ("SECRETS:${CarrierSecretsPrefix}/*", {"secretsmanager:GetSecretValue"})

PERMISSIONS: dict[str, dict[str, set[str]]] = {
    "AuthorizerFunction": {"SmsTable": TABLE_READ},
    "SendFunction": {
        # Money: the prices, the account, and its reservation in the message's transaction.
        "SmsTable": {
            "dynamodb:PutItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:Query",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
        },
        "IdempotencyTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        "DispatchQueue": {"sqs:SendMessage*"},
    },
    "StatusFunction": {"SmsTable": {"dynamodb:GetItem", "dynamodb:Query"}},
    "MessagesFunction": {
        "SmsTable": {"dynamodb:BatchGetItem"},
        "SmsTable/index/find": {"dynamodb:Query"},
        "SmsTable/index/reference": {"dynamodb:Query"},
    },
    "EventsFunction": {
        # A message's timeline: its events' markers through the find index, then read in a batch.
        "SmsTable": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"},
        "SmsTable/index/find": {"dynamodb:Query"},
        "WebhookDeliveriesQueue": {"sqs:SendMessage*"},
    },
    "AnalyticsFunction": {"SmsTable": {"dynamodb:Query"}},
    "ExportsFunction": {
        "SmsTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
        "ExportsQueue": {"sqs:SendMessage*"},
        "ExportsBucket/*": {"s3:GetObject"},
    },
    "ExportWorkerFunction": {
        "SmsTable": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem"},
        "SmsTable/index/find": {"dynamodb:Query"},
        "ExportsBucket/*": {"s3:PutObject", "s3:AbortMultipartUpload"},
    },
    "DispatchFunction": {
        "SmsTable": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",  # the suppression list; analytics' messages and numbers
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
        CARRIER_SECRETS_SSM[0]: CARRIER_SECRETS_SSM[1],
    },
    "SchedulesFunction": {"SmsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}},
    "SweepFunction": {
        "SmsTable": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        },
        "SmsTable/index/due": {"dynamodb:Query"},
        "DispatchQueue": {"sqs:SendMessage*"},
        "ReceiptsQueue": {"sqs:GetQueueAttributes"},
        CARRIER_SECRETS_SSM[0]: CARRIER_SECRETS_SSM[1],
    },
    "ReceiptsFunction": {"SmsTable": TABLE_READ, "ReceiptsQueue": {"sqs:SendMessage*"}},
    "ReceiptApplyFunction": {
        "SmsTable": {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "ReceiptsQueue": {"sqs:ChangeMessageVisibility"},
    },
    "WebhooksFunction": {
        # And settling a final message's money: the ledger, the account, the message's charge.
        "SmsTable": {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "WebhookDeliveriesQueue": {"sqs:SendMessage*"},
        # SAM's own grant for the stream source's OnFailure destination.
        "WebhookFanoutDeadLetterQueue": {"sqs:SendMessage"},
    },
    "WebhookDeliveryFunction": {
        "SmsTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
        "WebhookDeliveriesQueue": {"sqs:ChangeMessageVisibility"},
    },
    "WebhookSettingsFunction": {"SmsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    "SuppressionsFunction": {
        "SmsTable": {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    },
    "InboundFunction": {
        "SmsTable": {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        },
        "DispatchQueue": {"sqs:SendMessage*"},
    },
    "InboundMessagesFunction": {"SmsTable": {"dynamodb:Query"}},
    # A link read, then used: the link and the suppression updated in one transaction.
    "OptOutFunction": {"SmsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    # The ledger: its entries through the find index, newest first, then read in a batch.
    "BalanceFunction": {
        "SmsTable": {"dynamodb:GetItem", "dynamodb:BatchGetItem"},
        "SmsTable/index/find": {"dynamodb:Query"},
    },
}

_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
_XRAY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
_SQS_SOURCE = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
_STREAM_SOURCE = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
MANAGED_POLICIES = {
    function: {_BASIC, _XRAY}
    | (
        {_SQS_SOURCE}
        if function in ("DispatchFunction", "WebhookDeliveryFunction", "ReceiptApplyFunction", "ExportWorkerFunction")
        else set()
    )
    | ({_STREAM_SOURCE} if function == "WebhooksFunction" else set())
    for function in PERMISSIONS
}

API = "/api/v1/lisoloo/sms-api"
# Trigger of each function: API routes (method, path), queue or stream, or schedule.
API_ROUTES = {
    "SendFunction": {("post", f"{API}/send")},
    "StatusFunction": {("get", f"{API}/status/{{message_id}}")},
    "MessagesFunction": {("get", f"{API}/messages")},
    "AnalyticsFunction": {("get", f"{API}/analytics/delivery")},
    "ExportsFunction": {("post", f"{API}/exports"), ("get", f"{API}/exports/{{export_id}}")},
    "EventsFunction": {
        ("get", f"{API}/events"),
        ("get", f"{API}/messages/{{message_id}}/events"),
        ("post", f"{API}/events/{{event_id}}/redeliver"),
        ("get", f"{API}/webhook/deliveries"),
    },
    "SchedulesFunction": {("delete", f"{API}/schedules/{{schedule_id}}")},
    "ReceiptsFunction": {("post", f"{API}/receipts/{{carrier}}"), ("get", f"{API}/receipts/{{carrier}}")},
    "WebhookSettingsFunction": {
        ("get", f"{API}/webhook"),
        ("put", f"{API}/webhook"),
        ("post", f"{API}/webhook/rotate-secret"),
    },
    "SuppressionsFunction": {
        ("get", f"{API}/suppressions"),
        ("post", f"{API}/suppressions"),
        ("put", f"{API}/suppressions/{{number}}"),
        ("delete", f"{API}/suppressions/{{number}}"),
    },
    "InboundFunction": {("post", f"{API}/inbound/{{carrier}}"), ("get", f"{API}/inbound/{{carrier}}")},
    "InboundMessagesFunction": {("get", f"{API}/inbound")},
    "OptOutFunction": {("get", f"{API}/u/{{token}}"), ("post", f"{API}/u/{{token}}")},
    "BalanceFunction": {("get", f"{API}/balance"), ("get", f"{API}/balance/ledger")},
}
# Carriers and texts' recipients are not merchants: no app-key, no usage plan.
UNMETERED_FUNCTIONS = {"ReceiptsFunction", "InboundFunction", "OptOutFunction"}
EVENT_SOURCES = {
    "DispatchFunction": ("DispatchQueue", "Arn"),
    "WebhookDeliveryFunction": ("WebhookDeliveriesQueue", "Arn"),
    "ReceiptApplyFunction": ("ReceiptsQueue", "Arn"),
    "ExportWorkerFunction": ("ExportsQueue", "Arn"),
    "WebhooksFunction": ("SmsTable", "StreamArn"),
}
SCHEDULED = {"SweepFunction": "rate(1 minute)"}
SWEEP_PERIOD = 60


@cache
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def defaults(**overrides: str) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in sam_template()["Parameters"].items()}
    values.update(overrides)
    return values


@cache
def _translated(overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    return translate_template(sam_template(), defaults(**dict(overrides)), REGION)


def translated(**overrides: str) -> dict[str, Any]:
    # A deep copy per test: nothing a test does leaks into the next.
    result: dict[str, Any] = json.loads(json.dumps(_translated(tuple(sorted(overrides.items())))))
    return result


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def functions() -> dict[str, dict[str, Any]]:
    return resources_of_type(sam_template(), "AWS::Serverless::Function")


# --- lint ----------------------------------------------------------------------------------


def _lint(path: Path, ignore: list[str] | None = None) -> list[str]:
    matches = lint_file(path, config=ManualArgs(regions=[REGION], ignore_checks=ignore or []))
    return [f"{match.rule.id} {match.message} ({match.filename}:{match.linenumber})" for match in matches]


def test_cfn_lint_passes_on_the_sam_template() -> None:
    assert _lint(TEMPLATE) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "Stage": "prod",
            "CarrierSecretsStore": "secretsmanager",
            "AlarmEmail": "ops@example.com",
            "ConsoleHosting": "cloudfront",
        },
    ],
    ids=["defaults", "prod-like"],
)
def test_cfn_lint_passes_on_the_translated_template(overrides: dict[str, str], tmp_path: Path) -> None:
    # W1020: the translator itself turns !Sub lisoloo-core-${Stage} into a Sub with no variable left.
    output = tmp_path / "translated.json"
    output.write_text(json.dumps(translated(**overrides), indent=1))
    assert _lint(output, ignore=["W1020"]) == []


# --- the translated resources --------------------------------------------------------------


def test_every_function_runs_python_3_13_on_arm_with_the_layer_and_tracing() -> None:
    template = translated()
    (layer_id,) = resources_of_type(template, "AWS::Lambda::LayerVersion")
    lambdas = resources_of_type(template, "AWS::Lambda::Function")
    assert set(lambdas) == set(functions()) == set(PERMISSIONS)
    for logical_id, function in lambdas.items():
        properties = function["Properties"]
        assert properties["Layers"] == [{"Ref": layer_id}], logical_id
        assert properties["Runtime"] == "python3.13", logical_id
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["TracingConfig"] == {"Mode": "Active"}, logical_id


def test_every_function_has_a_log_group_with_retention() -> None:
    groups = resources_of_type(sam_template(), "AWS::Logs::LogGroup")
    named = {json.dumps(group["Properties"]["LogGroupName"]): group for group in groups.values()}
    for logical_id in functions():
        group = named.get(json.dumps({"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}))
        assert group is not None, f"{logical_id} has no log group"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_api_routes_reach_their_functions_with_the_authorizer_and_the_usage_plan() -> None:
    template = translated()
    api = template["Resources"]["SmsApi"]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    found: dict[str, set[tuple[str, str]]] = {}
    for path, methods in api["Body"]["paths"].items():
        for method, operation in methods.items():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            # SnapStart runs published versions only: the API calls each function's alias.
            alias = re.search(r"\$\{(\w+)\}/invocations", uri)
            assert alias is not None, (method, path)
            function = aliased_function(template, alias.group(1))
            found.setdefault(function, set()).add((method, path))
            security = {name for requirement in operation["security"] for name in requirement}
            if function in UNMETERED_FUNCTIONS:
                assert security == set(), (method, path)
            else:
                # The authorizer, and an API key (the organization's, from the authorizer) for the usage plan.
                assert security == {"AppKeyAuthorizer", "api_key"}, (method, path)
    assert found == API_ROUTES
    permissions = resources_of_type(template, "AWS::Lambda::Permission")
    invoked = {
        aliased_function(template, reference)
        for permission in permissions.values()
        if template["Resources"][reference := permission["Properties"]["FunctionName"]["Ref"]]["Type"]
        == "AWS::Lambda::Alias"
    }
    assert set(API_ROUTES) <= invoked


def aliased_function(template: dict[str, Any], alias: str) -> str:
    """The function an ``AWS::Lambda::Alias`` (``<Function>Aliaslive``) points at."""
    resource = template["Resources"][alias]
    assert resource["Type"] == "AWS::Lambda::Alias", alias
    return str(resource["Properties"]["FunctionName"]["Ref"])


def test_every_function_starts_from_a_snapshot_of_a_published_version() -> None:
    # Lambda SnapStart (Python 3.12+, arm64 or x86_64; not with provisioned concurrency, EFS or
    # more than 512 MB of ephemeral storage; published versions only)
    template = load_template(TEMPLATE)
    globals_ = template["Globals"]["Function"]
    assert globals_["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    assert globals_["AutoPublishAlias"] == "live"
    assert globals_["Runtime"] in ("python3.12", "python3.13")
    for logical_id in functions():
        properties = template["Resources"][logical_id]["Properties"]
        assert not {"SnapStart", "AutoPublishAlias"} & set(properties), f"{logical_id} overrides the Globals"
        assert not {"ProvisionedConcurrencyConfig", "FileSystemConfigs"} & set(properties), logical_id
        assert properties.get("EphemeralStorage", {}).get("Size", 512) <= 512, logical_id
    authorizer = template["Resources"]["SmsApi"]["Properties"]["Auth"]["Authorizers"]["AppKeyAuthorizer"]
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}
    assert len(resources_of_type(translated(), "AWS::Lambda::Alias")) == len(functions())


def test_the_authorizer_caches_per_app_key_for_five_minutes() -> None:
    schemes = translated()["Resources"]["SmsApi"]["Properties"]["Body"]["components"]["securitySchemes"]
    authorizer = schemes["AppKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["identitySource"] == "method.request.header.app-key"
    assert authorizer["authorizerResultTtlInSeconds"] == 300
    assert "AuthorizerFunction" in json.dumps(authorizer["authorizerUri"])


def test_queue_stream_and_schedule_triggers() -> None:
    template = translated()
    mappings = resources_of_type(template, "AWS::Lambda::EventSourceMapping")
    # Each invokes the function's `live` alias (SnapStart runs published versions only).
    sources = {
        aliased_function(template, m["Properties"]["FunctionName"]["Ref"]): m["Properties"] for m in mappings.values()
    }
    assert {name: tuple(props["EventSourceArn"]["Fn::GetAtt"]) for name, props in sources.items()} == EVENT_SOURCES
    for properties in sources.values():
        # Partial batch failures: one bad record does not retry the whole batch.
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    rules = resources_of_type(template, "AWS::Events::Rule")
    scheduled = {
        aliased_function(template, rule["Properties"]["Targets"][0]["Arn"]["Ref"]): rule["Properties"][
            "ScheduleExpression"
        ]
        for rule in rules.values()
    }
    assert scheduled == SCHEDULED


def _evaluate_condition(expression: Any, conditions: dict[str, Any], parameters: dict[str, str]) -> Any:
    if isinstance(expression, dict):
        ((key, argument),) = expression.items()
        if key == "Ref":
            return parameters.get(argument, argument)
        if key == "Condition":
            return _evaluate_condition(conditions[argument], conditions, parameters)
        values = [_evaluate_condition(item, conditions, parameters) for item in argument]
        return {
            "Fn::Equals": lambda: values[0] == values[1],
            "Fn::Not": lambda: not values[0],
            "Fn::And": lambda: all(values),
            "Fn::Or": lambda: any(values),
        }[key]()
    return expression


def _chosen(value: Any, conditions: dict[str, Any], parameters: dict[str, str]) -> Iterator[Any]:
    """Policies as CloudFormation would see them for ``parameters``: Fn::If resolved."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        branch = when_true if _evaluate_condition(conditions[name], conditions, parameters) else when_false
        yield from _chosen(branch, conditions, parameters)
    elif not (isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}):
        yield value


def _resource_name(resource: Any) -> str:
    """A readable name for a statement's Resource (logical ids instead of ARNs)."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        return logical_id if attribute == "Arn" else f"{logical_id}/{attribute}"
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else sub
        if (found := re.fullmatch(r"\$\{(\w+)\.Arn\}(/.*)", text)) is not None:
            return found.group(1) + found.group(2)
        if "${queueName}" in text:
            return str(variables["queueName"]["Fn::GetAtt"][0])
        if "${secretArn}" in text:
            text = variables["secretArn"]["Fn::Sub"]
        if (found := re.search(r":parameter/(.+)$", text)) is not None:
            return f"SSM:{found.group(1)}"
        if (found := re.search(r":secret:(.+)$", text)) is not None:
            return f"SECRETS:{found.group(1)}"
    return json.dumps(resource)


def granted(template: dict[str, Any], function: str, parameters: dict[str, str]) -> dict[str, set[str]]:
    role_id = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    conditions = template.get("Conditions", {})
    grants: dict[str, set[str]] = {}
    for policy in role.get("Policies", []):
        for chosen in _chosen(policy, conditions, parameters):
            for statement in chosen["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                actions = statement["Action"]
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    grants.setdefault(_resource_name(resource), set()).update(
                        actions if isinstance(actions, list) else [actions]
                    )
    return grants


@pytest.mark.parametrize("function", sorted(PERMISSIONS))
def test_each_function_gets_only_the_permissions_it_needs(function: str) -> None:
    template = translated()
    assert granted(template, function, defaults()) == PERMISSIONS[function]
    role_id = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert set(template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]) == MANAGED_POLICIES[function]


def test_carrier_secrets_in_secrets_manager_swap_the_grant() -> None:
    parameters = defaults(CarrierSecretsStore="secretsmanager")
    template = translated(CarrierSecretsStore="secretsmanager")
    for function in ("DispatchFunction", "SweepFunction"):
        expected = {k: v for k, v in PERMISSIONS[function].items() if k != CARRIER_SECRETS_SSM[0]}
        expected[CARRIER_SECRETS_SM[0]] = CARRIER_SECRETS_SM[1]
        assert granted(template, function, parameters) == expected


def test_no_statement_grants_a_wildcard_action_or_resource() -> None:
    template = translated()
    for function in PERMISSIONS:
        for resource, actions in granted(template, function, defaults()).items():
            assert resource != '"*"', function
            assert not any(action.endswith(":*") or action == "*" for action in actions), function


def _alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def _watched(template: dict[str, Any], metric: str) -> set[str]:
    names = set()
    for alarm in _alarms(template):
        if alarm["MetricName"] == metric:
            for dimension in alarm["Dimensions"]:
                value = dimension["Value"]
                names.add(value.get("Ref") or value.get("Fn::GetAtt", [""])[0] if isinstance(value, dict) else value)
    return names


def test_alarms_cover_dead_letters_errors_throttles_queue_age_and_5xx() -> None:
    template = sam_template()
    queues = resources_of_type(template, "AWS::SQS::Queue")
    dead_letter_queues = {lid for lid in queues if "DeadLetter" in lid}
    work_queues = set(queues) - dead_letter_queues
    assert dead_letter_queues <= _watched(template, "ApproximateNumberOfMessagesVisible")
    assert work_queues <= _watched(template, "ApproximateAgeOfOldestMessage")
    assert set(functions()) <= _watched(template, "Errors")
    assert set(functions()) <= _watched(template, "Throttles")
    assert any(
        alarm["Namespace"] == "AWS/ApiGateway" and alarm["MetricName"] == "5XXError" for alarm in _alarms(template)
    )
    for alarm in _alarms(template):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], alarm["AlarmDescription"]


def test_every_work_queue_redrives_to_a_dead_letter_queue() -> None:
    queues = resources_of_type(sam_template(), "AWS::SQS::Queue")
    for logical_id, queue in queues.items():
        if "DeadLetter" in logical_id:
            continue
        target = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert target in queues and "DeadLetter" in target, logical_id


def test_the_usage_plan_throttles_the_stage_with_the_template_parameters() -> None:
    template = translated()
    (plan,) = resources_of_type(template, "AWS::ApiGateway::UsagePlan").values()
    (stage_id,) = resources_of_type(template, "AWS::ApiGateway::Stage")
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "SmsApi"}, "Stage": {"Ref": stage_id}}]
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "DefaultRateLimit"},
        "BurstLimit": {"Ref": "DefaultBurstLimit"},
    }
    assert len(resources_of_type(template, "AWS::ApiGateway::Stage")) == 1  # no stray "Stage" stage


CONSOLE_RESOURCES = {
    "ConsoleBucket",
    "ConsoleBucketPolicy",
    "ConsoleOriginAccessControl",
    "ConsoleHeadersPolicy",
    "ConsoleDistribution",
}


def test_the_console_is_hosted_only_when_asked_from_a_private_bucket_on_the_apis_origin() -> None:
    # Off by default: no console resource exists unless ConsoleHosting=cloudfront
    resources = sam_template()["Resources"]
    conditional = {name for name, resource in resources.items() if resource.get("Condition") == "HostConsole"}
    assert conditional == CONSOLE_RESOURCES
    assert sam_template()["Parameters"]["ConsoleHosting"]["Default"] == "none"
    # The bucket is private; only this distribution reads it, over TLS
    bucket = resources["ConsoleBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    (allow, deny) = resources["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (allow["Principal"], allow["Action"]) == ({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject")
    assert "distribution/${ConsoleDistribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    # And the API is the distribution's second origin under /api/*, never cached, its Host its own
    config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    (api,) = [origin for origin in config["Origins"] if origin["Id"] == "api"]
    assert api["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    (behaviour,) = config["CacheBehaviors"]
    assert (behaviour["PathPattern"], behaviour["TargetOriginId"]) == ("/api/*", "api")
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_outputs_name_what_operators_and_the_admin_cli_need() -> None:
    outputs = sam_template()["Outputs"]
    assert {"ApiUrl", "TableName", "RestApiId", "StageName", "UsagePlanId", "AlarmTopicArn"} <= set(outputs)
    assert {"DispatchQueueUrl", "DispatchDeadLetterQueueUrl", "WebhookDeliveriesDeadLetterQueueUrl"} <= set(outputs)


def test_samconfig_has_dev_and_prod_with_declared_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    declared = set(sam_template()["Parameters"])
    for environment in ("dev", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        overrides = dict(pair.split("=", 1) for pair in deploy["parameter_overrides"])
        assert set(overrides) <= declared, environment
        assert overrides["Stage"] == environment
        assert deploy["stack_name"] == f"lisoloo-sms-api-{environment}"
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        # The functions would refuse to start (a failed version publish fails the deploy):
        # catch it here, before a deploy is even tried.
        parameters = {name: str(p.get("Default", "")) for name, p in sam_template()["Parameters"].items()}
        parameters.update(overrides)
        delays = tuple(int(delay) for delay in parameters["CarrierRetryDelays"].split(","))
        assert retry_timing_problem(int(parameters["DeliveryTimeoutSeconds"]), delays, SWEEP_PERIOD) is None


def test_the_sweep_runs_as_often_as_the_functions_assume_and_alarms_when_late() -> None:
    assert SCHEDULED["SweepFunction"] == "rate(1 minute)" and TimeSettings().sweep_period_seconds == SWEEP_PERIOD
    # A deadline waits for queued receipts as long as the receipts queue redrives them
    receipts = sam_template()["Resources"]["ReceiptsQueue"]["Properties"]
    redrive = receipts["RedrivePolicy"]["maxReceiveCount"] * receipts["VisibilityTimeout"]
    assert TimeSettings().deadline_receipts_wait_seconds == redrive
    (lag,) = [alarm for alarm in _alarms(sam_template()) if alarm["MetricName"] == "SweepLagSeconds"]
    assert (lag["Namespace"], lag["Statistic"], lag["TreatMissingData"]) == ("Lisoloo", "Maximum", "breaching")


# --- handlers and the layer's requirements ---------------------------------------------------


def _pinned(lines: list[str]) -> dict[str, Requirement]:
    requirements = [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {metadata_name(requirement.name): requirement for requirement in requirements}


def metadata_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_layer_requirements_match_pyproject_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pinned(project["dependencies"])
    layer = _pinned(LAYER_REQUIREMENTS.read_text().splitlines())
    assert {name: str(r) for name, r in layer.items()} == {name: str(r) for name, r in runtime.items()}
    for requirement in layer.values():
        assert str(requirement.specifier).startswith("=="), f"{requirement} is not pinned"


def _distributions_needed(requirements: list[Requirement]) -> set[str]:
    """The layer's requirements and everything they pull in (with their extras), by name."""
    seen: set[str] = set()
    pending = [(requirement, set(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = metadata_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for child in metadata.requires(requirement.name) or []:
            dependency = Requirement(child)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            ):
                pending.append((dependency, set(dependency.extras)))
    return seen


_IMPORT_PROBE = """
import importlib.util, json, os, sys
code_dir, handler = sys.argv[1], sys.argv[2]
module_name, function_name = handler.rsplit(".", 1)
sys.path.insert(0, code_dir)
before = set(sys.modules)  # what the interpreter itself loaded (site, .pth hooks)
spec = importlib.util.spec_from_file_location(module_name, os.path.join(code_dir, *module_name.split(".")) + ".py")
module = importlib.util.module_from_spec(spec)
sys.modules[module_name] = module
spec.loader.exec_module(module)
assert callable(getattr(module, function_name)), handler
files = {name: getattr(m, "__file__", None) for name, m in list(sys.modules.items()) if name not in before}
print(json.dumps({name: path for name, path in files.items() if path}))
"""


@pytest.mark.parametrize("function", sorted(PERMISSIONS))
def test_handler_imports_with_only_the_layer_and_its_requirements(function: str) -> None:
    properties = functions()[function]["Properties"]
    code_dir = (ROOT / properties["CodeUri"]).resolve()
    requirements = list(_pinned(LAYER_REQUIREMENTS.read_text().splitlines()).values())
    own = code_dir / "requirements.txt"
    if own.exists():
        requirements += list(_pinned(own.read_text().splitlines()).values())
    allowed_distributions = _distributions_needed(requirements)

    # A fresh interpreter, no PYTHONPATH or user site; settings the handlers read at import.
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_PROBE, str(code_dir), properties["Handler"]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=code_dir,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_DEFAULT_REGION": REGION,
            "TABLE_NAME": "table",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Lisoloo",
            "POWERTOOLS_SERVICE_NAME": "lisoloo-sms-api",
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded: dict[str, str] = json.loads(result.stdout.splitlines()[-1])

    owners = metadata.packages_distributions()
    layer_dir = ROOT / "layers" / "core" / "lisoloo"
    outside: list[str] = []
    for name, path in loaded.items():
        top = name.split(".")[0]
        file = Path(path).resolve()
        if file.is_relative_to(code_dir) or file.is_relative_to(layer_dir) or top in OPTIONAL_IMPORTS:
            continue
        if "site-packages" in file.parts:
            distributions = {metadata_name(d) for d in owners.get(top, [])}
            if not distributions & allowed_distributions:
                outside.append(f"{name} (from {sorted(distributions) or 'an unknown distribution'})")
        elif file.is_relative_to(ROOT):
            outside.append(f"{name} ({file.relative_to(ROOT)}: repository code outside the layer)")
    assert outside == [], f"{function} imports what the layer does not ship: {outside}"


def test_the_readme_documents_every_template_parameter() -> None:
    readme = (ROOT / "README.md").read_text()
    configuration = readme[readme.index("## Configuration") :]
    missing = [name for name in sam_template()["Parameters"] if f"`{name}`" not in configuration]
    assert missing == [], f"README.md's Configuration table lacks {missing}"
