"""template.yaml deployed into in-process moto, as the local stack and the integration tests do."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local.infrastructure import DeployedStack, _for_moto, deploy_template, load_template, translate_template
from local.moto_server import moto_environment
from local.settings import REPOSITORY_ROOT

TEMPLATE = REPOSITORY_ROOT / "template.yaml"


@pytest.fixture(scope="module")
def deployed() -> Iterator[DeployedStack]:
    with moto_environment(), mock_aws(config={"lambda": {"use_docker": False}}):
        yield deploy_template(TEMPLATE, {"SandboxCarrierUrl": "http://127.0.0.1:9", "DeliveryTimeoutSeconds": "7"})


def test_functions_get_their_environment_with_physical_names(deployed: DeployedStack) -> None:
    # Given the stack deployed with two parameter overrides
    send = deployed.functions["SendFunction"]

    # Then the function's variables name the real table and queue, and carry the overrides as strings
    assert send.environment["TABLE_NAME"] == deployed.physical_id("SmsTable")
    assert send.environment["DISPATCH_QUEUE_URL"] == deployed.physical_id("DispatchQueue")
    assert send.environment["SANDBOX_CARRIER_URL"] == "http://127.0.0.1:9"
    assert send.environment["DELIVERY_TIMEOUT_SECONDS"] == "7"
    assert send.handler == "app.lambda_handler"
    assert send.code_dir == REPOSITORY_ROOT / "functions" / "send"
    assert deployed.functions["DispatchFunction"].timeout_seconds == 30


def test_every_function_of_the_template_is_deployed(deployed: DeployedStack) -> None:
    template = load_template(TEMPLATE)
    declared = {lid for lid, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(deployed.functions) == declared


def test_table_and_queues_come_from_the_template(deployed: DeployedStack) -> None:
    # Given the deployed stack
    table = boto3.client("dynamodb").describe_table(TableName=deployed.physical_id("SmsTable"))["Table"]
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=deployed.physical_id("DispatchQueue"), AttributeNames=["All"])[
        "Attributes"
    ]

    # Then the table streams both images and the dispatch queue redrives to its dead-letter queue
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert attributes["VisibilityTimeout"] == "180"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == deployed.resolve({"Fn::GetAtt": ["DispatchDeadLetterQueue", "Arn"]})
    assert int(redrive["maxReceiveCount"]) == 5


def test_moto_gets_no_event_source_mappings(deployed: DeployedStack) -> None:
    # moto would consume the queue and the stream itself; the local pollers do that instead
    assert boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_resolve_event_properties(deployed: DeployedStack) -> None:
    dispatch = deployed.functions["DispatchFunction"]
    (event,) = [event for event in dispatch.events if event.type == "SQS"]
    assert deployed.resolve(event.properties["Queue"]).startswith("arn:aws:sqs:us-east-1:123456789012:")
    assert deployed.resolve({"Ref": "Stage"}) == "dev"
    assert ":table/" in deployed.resolve({"Fn::GetAtt": ["SmsTable", "StreamArn"]})


def test_undeclared_parameters_are_refused(deployed: DeployedStack) -> None:
    # (inside the fixture's mock: should the check ever come later, nothing reaches AWS)
    with pytest.raises(ValueError, match="NoSuchParameter"):
        deploy_template(TEMPLATE, {"NoSuchParameter": "x"})


def test_snapstart_aliases_become_their_functions_for_moto() -> None:
    # Given the template as SAM translates it for AWS: published versions and a `live` alias
    translated = translate_template(load_template(TEMPLATE), {"SnapStart": "PublishedVersions"}, "us-east-1")
    aliases = [lid for lid, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"]
    assert "AuthorizerFunctionAliaslive" in aliases and "SendFunctionAliaslive" in aliases
    # When it is shaped for moto (which has no versions): every alias reference is its function
    resources = _for_moto(translated)["Resources"]
    kinds = {resource["Type"] for resource in resources.values()}
    assert not kinds & {"AWS::Lambda::Alias", "AWS::Lambda::Version"}
    text = json.dumps(resources)
    assert not [alias for alias in aliases if alias in text]
    # And the API's authorizer and integrations invoke the functions themselves
    api = json.dumps(resources["SmsApi"])
    assert '"__FunctionArn__": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}' in api and "${SendFunction.Arn}" in api
    permissions = {
        r["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
    }
    assert {"AuthorizerFunction", "SendFunction", "StatusFunction"} <= permissions
