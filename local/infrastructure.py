"""Deploys template.yaml into whatever AWS endpoint boto3 points at (moto's server or ``mock_aws``).

The SAM template is translated offline with aws-sam-translator and created as one
CloudFormation stack, so the table, queues and their settings always come from the
template, never from a hand-kept copy. What moto cannot or must not do is taken out
first (TOOLCHAIN.md, "Building the local stack from template.yaml"):

* API Gateway deployments and stages: moto has no data plane; the local gateway serves the API.
  Usage plans go with them (they name the stage); the local gateway throttles by itself.
* Lambda event source mappings: moto would consume SQS messages and stream records itself
  (and throw their results away); the local pollers feed the functions instead.
* Published versions and their aliases (AutoPublishAlias, for SnapStart): moto's CloudFormation
  has neither, and locally there is one version of each function, the code on disk; what
  refers to an alias (the API's permissions) refers to its function.

What callers get back is a :class:`DeployedStack`: physical ids by logical id, each
function's code directory, handler, resolved environment and declared events.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import intrinsics_multi_constructor

PLACEHOLDER_BUCKET = "lisoloo-local-code"
# The smallest valid zip archive (an empty central directory): the code is never run by moto.
EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18
DEFAULT_STACK_NAME = "lisoloo-local"

# Resource types left out of the stack, and why (see the module docstring).
_SKIPPED_RESOURCE_TYPES = frozenset(
    {
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGateway::UsagePlanKey",
        "AWS::ApiGateway::ApiKey",
        "AWS::Lambda::EventSourceMapping",
    }
)
_LOCAL_URI_PROPERTIES = ("CodeUri", "ContentUri")


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc] # PyYAML ships no type hints here
    """A SafeLoader that reads ``!Ref``/``!GetAtt``/``!Sub`` as CloudFormation's long forms,
    without registering that on yaml.SafeLoader for the whole process."""


_CloudFormationLoader.add_multi_constructor("!", intrinsics_multi_constructor)


def load_template(template_path: Path) -> dict[str, Any]:
    """The SAM template as a dict, intrinsics in their ``{"Ref": ...}`` / ``{"Fn::GetAtt": [...]}`` form."""
    loaded: dict[str, Any] = yaml.load(template_path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506
    return loaded


@dataclass(frozen=True)
class EventSpec:
    """One entry of a function's ``Events``: its name, SAM type (Api, SQS, DynamoDB, Schedule...)
    and raw properties (intrinsics unresolved; :meth:`DeployedStack.resolve` resolves them)."""

    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]
    events: tuple[EventSpec, ...]
    # ReservedConcurrentExecutions: the most environments it may run at once (None: no limit).
    reserved_concurrency: int | None = None


@dataclass
class DeployedStack:
    stack_name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    template: dict[str, Any]
    physical_ids: dict[str, str]
    resource_types: dict[str, str]
    functions: dict[str, FunctionSpec]
    _session: boto3.Session = field(repr=False)

    def physical_id(self, logical_id: str) -> str:
        try:
            return self.physical_ids[logical_id]
        except KeyError:
            raise KeyError(f"{logical_id} is not a resource of stack {self.stack_name}") from None

    def resolve(self, value: Any) -> Any:
        """Resolves the intrinsics event properties use: ``Ref`` (a parameter or a resource's
        physical id) and ``Fn::GetAtt`` for the attributes event sources point at."""
        if isinstance(value, dict) and len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.parameters[argument] if argument in self.parameters else self.physical_id(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument
                return self._attribute(logical_id, attribute)
        return value

    def _attribute(self, logical_id: str, attribute: str) -> str:
        resource_type, physical = self.resource_types[logical_id], self.physical_id(logical_id)
        if resource_type == "AWS::SQS::Queue":
            attributes = self._session.client("sqs").get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"]
            )["Attributes"]
            arn: str = attributes["QueueArn"]
            return arn if attribute == "Arn" else arn.rsplit(":", 1)[1]
        if resource_type == "AWS::DynamoDB::Table":
            table = self._session.client("dynamodb").describe_table(TableName=physical)["Table"]
            return str(table["LatestStreamArn"] if attribute == "StreamArn" else table["TableArn"])
        if resource_type == "AWS::Lambda::Function" and attribute == "Arn":
            return self.functions[logical_id].arn
        raise ValueError(f"the local stack cannot resolve !GetAtt {logical_id}.{attribute}")


class _NoManagedPolicies:
    """The translator asks IAM for AWS managed policy ARNs; offline we have none, and SAM
    policy templates (all this project uses) do not need them."""

    def load(self) -> dict[str, str]:
        return {}


def deploy_template(
    template_path: Path,
    parameters: Mapping[str, str],
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    session: boto3.Session | None = None,
) -> DeployedStack:
    """Translates ``template_path`` and creates it as a CloudFormation stack at the endpoint
    ``session`` (default: a new boto3 session, which honours AWS_ENDPOINT_URL and ``mock_aws``).

    moto's Lambda must run with ``use_docker: False`` (``mock_aws(config=...)`` or the moto-api
    config endpoint), because the code uploaded is a placeholder.
    """
    session = session or boto3.Session()
    region = session.region_name or "us-east-1"
    template = load_template(template_path)
    declared = template.get("Parameters", {})
    unknown = set(parameters) - set(declared)
    if unknown:
        raise ValueError(f"parameters not declared by {template_path.name}: {sorted(unknown)}")
    parameter_values = {name: str(parameters.get(name, spec.get("Default", ""))) for name, spec in declared.items()}

    code_dirs = _local_code_dirs(template, template_path.parent)
    cloudformation_template = _for_moto(translate_template(template, parameter_values, region))
    with _moto_unsupported_types_quiet():
        _upload_placeholders(session, cloudformation_template)
        _create_stack(session, stack_name, cloudformation_template, parameters)
        physical_ids, resource_types = _list_resources(session, stack_name)
    functions = _read_functions(session, template, cloudformation_template, physical_ids, code_dirs)
    account_id = next(iter(functions.values())).arn.split(":")[4] if functions else "123456789012"
    return DeployedStack(
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        parameters=parameter_values,
        template=template,
        physical_ids=physical_ids,
        resource_types=resource_types,
        functions=functions,
        _session=session,
    )


def _local_code_dirs(template: dict[str, Any], base_dir: Path) -> dict[str, Path]:
    """Each serverless function's code directory: its own CodeUri, or the one in Globals."""
    global_code_uri = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    code_dirs: dict[str, Path] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code_uri = resource.get("Properties", {}).get("CodeUri", global_code_uri)
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            raise ValueError(f"{logical_id}: the local stack runs only functions with a local CodeUri")
        code_dirs[logical_id] = (base_dir / code_uri).resolve()
    return code_dirs


def translate_template(template: dict[str, Any], parameter_values: Mapping[str, str], region: str) -> dict[str, Any]:
    """The SAM template as plain CloudFormation, translated offline by aws-sam-translator: local
    ``CodeUri``/``ContentUri`` become ``s3://lisoloo-local-code/<LogicalId>.zip`` and no AWS
    managed policy ARNs are looked up. Everything is kept (the build checks lint and assert
    this output); :func:`deploy_template` then leaves out what moto cannot run."""
    sam_template = json.loads(json.dumps(template))  # the translator mutates its input
    for section in (sam_template.get("Globals", {}).get("Function", {}), sam_template.get("Globals", {})):
        if isinstance(section.get("CodeUri"), str):
            section["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/Globals.zip"
    for logical_id, resource in sam_template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        for key in _LOCAL_URI_PROPERTIES:
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
    with _region(region):
        translated: dict[str, Any] = transform(sam_template, dict(parameter_values), _NoManagedPolicies())
    return translated


def _for_moto(translated: dict[str, Any]) -> dict[str, Any]:
    resources = translated["Resources"]
    _aliases_to_functions(resources)
    skipped = {lid for lid, resource in resources.items() if resource["Type"] in _SKIPPED_RESOURCE_TYPES}
    for logical_id in skipped:
        del resources[logical_id]
    # Outputs that name a resource left out would fail the whole stack.
    outputs = translated.get("Outputs", {})
    for name in [name for name, output in outputs.items() if _references(output, skipped)]:
        del outputs[name]
    for resource in resources.values():
        # moto names a RestApi from its Name only (it ignores the swagger Body that carries one).
        if resource["Type"] == "AWS::ApiGateway::RestApi":
            resource["Properties"].setdefault("Name", "local-api")
    return translated


def _aliases_to_functions(resources: dict[str, Any]) -> None:
    """moto has no published versions: SnapStart's versions and ``live`` aliases are left out,
    and whatever invoked an alias (API, queues, stream, schedule) invokes its function."""
    functions = {
        logical_id: resource["Properties"]["FunctionName"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }
    for logical_id in [
        lid for lid, r in resources.items() if r["Type"] in ("AWS::Lambda::Alias", "AWS::Lambda::Version")
    ]:
        del resources[logical_id]

    def replaced(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in functions:
                # An alias's Ref is its ARN: the function's ARN stands in for it.
                return {"Fn::GetAtt": [functions[value["Ref"]]["Ref"], "Arn"]}
            return {key: replaced(item) for key, item in value.items()}
        if isinstance(value, list):
            return [replaced(item) for item in value]
        if isinstance(value, str) and "${" in value:
            for alias, function in functions.items():
                value = value.replace("${" + alias + "}", "${" + function["Ref"] + ".Arn}")
        return value

    for logical_id, resource in resources.items():
        resources[logical_id] = replaced(resource)


def _references(value: Any, logical_ids: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"Ref": "{lid}"' in text or f'"Fn::GetAtt": ["{lid}"' in text for lid in logical_ids)


@contextmanager
def _region(region: str) -> Iterator[None]:
    """The translator builds ARNs with the region of boto3's default session, read from the
    environment; lend it ours when the environment has none."""
    if os.environ.get("AWS_DEFAULT_REGION"):
        yield
        return
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        os.environ.pop("AWS_DEFAULT_REGION", None)


def _upload_placeholders(session: boto3.Session, cloudformation_template: dict[str, Any]) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=PLACEHOLDER_BUCKET)
    keys = set(re.findall(rf"{PLACEHOLDER_BUCKET}/([\w.-]+\.zip)", json.dumps(cloudformation_template)))
    # The translator splits s3:// URIs into Bucket/Key pairs; find the keys that way too.
    keys |= set(re.findall(r'"(?:S3Key|Key)": "([\w.-]+\.zip)"', json.dumps(cloudformation_template)))
    for key in keys:
        s3.put_object(Bucket=PLACEHOLDER_BUCKET, Key=key, Body=EMPTY_ZIP)


def _create_stack(
    session: boto3.Session,
    stack_name: str,
    cloudformation_template: dict[str, Any],
    parameters: Mapping[str, str],
) -> None:
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cloudformation_template),
        Parameters=[{"ParameterKey": key, "ParameterValue": str(value)} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")


def _list_resources(session: boto3.Session, stack_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(physical id by logical id, type by logical id). Resources moto could not build (it lists
    them with an empty logical id) are left out."""
    physical_ids: dict[str, str] = {}
    resource_types: dict[str, str] = {}
    pages = session.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack_name)
    for page in pages:
        for summary in page["StackResourceSummaries"]:
            if logical_id := summary.get("LogicalResourceId"):
                physical_ids[logical_id] = summary.get("PhysicalResourceId", "")
                resource_types[logical_id] = summary["ResourceType"]
    return physical_ids, resource_types


@contextmanager
def _moto_unsupported_types_quiet() -> Iterator[None]:
    """moto warns (a log line and a UserWarning) each time it meets a resource type it cannot
    build, e.g. CloudWatch alarms; nothing local needs those, and the noise hides real errors."""
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation", category=UserWarning)
            yield
    finally:
        moto_logger.setLevel(level)


def _read_functions(
    session: boto3.Session,
    template: dict[str, Any],
    cloudformation_template: dict[str, Any],
    physical_ids: dict[str, str],
    code_dirs: dict[str, Path],
) -> dict[str, FunctionSpec]:
    """Each function as deployed: handler, timeout and memory from the translated template
    (Globals merged), environment read back from Lambda so every reference is a physical name."""
    lambda_client = session.client("lambda")
    functions: dict[str, FunctionSpec] = {}
    for logical_id, code_dir in code_dirs.items():
        configuration = lambda_client.get_function_configuration(FunctionName=physical_ids[logical_id])
        variables = configuration.get("Environment", {}).get("Variables", {})
        translated = cloudformation_template["Resources"][logical_id]["Properties"]
        events = template["Resources"][logical_id].get("Properties", {}).get("Events", {}) or {}
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=configuration["FunctionName"],
            arn=configuration["FunctionArn"],
            code_dir=code_dir,
            handler=str(translated["Handler"]),
            timeout_seconds=int(translated.get("Timeout", 3)),
            memory_mb=int(translated.get("MemorySize", 128)),
            # moto keeps CloudFormation's Number parameters as numbers; Lambda only has strings.
            environment={name: str(value) for name, value in variables.items()},
            events=tuple(
                EventSpec(name=name, type=str(event["Type"]), properties=dict(event.get("Properties", {})))
                for name, event in events.items()
            ),
            reserved_concurrency=(
                int(translated["ReservedConcurrentExecutions"])
                if "ReservedConcurrentExecutions" in translated
                else None
            ),
        )
    return functions


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None
