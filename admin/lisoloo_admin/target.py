"""Where ``lisoloo-admin`` acts: a stack's table, usage plan, API and dead-letter queues (from
its CloudFormation outputs), or a table named directly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3


class AdminError(Exception):
    """A refusal to show the operator as is (exit status 2)."""


@dataclass(frozen=True)
class Target:
    table_name: str
    session: Any
    allow_loopback_webhooks: bool = False
    usage_plan_id: str | None = None
    rest_api_id: str | None = None
    stage: str | None = None
    # Dead-letter queue URLs by the name `replay-dlq` takes (dispatch, receipts, webhook-deliveries).
    dead_letter_queues: Mapping[str, str] = field(default_factory=dict)


def _dead_letter_queues(outputs: Mapping[str, str]) -> dict[str, str]:
    """The stack's ``<Name>DeadLetterQueueUrl`` outputs by kebab name: ``DispatchDeadLetterQueueUrl``
    → ``dispatch``, ``WebhookDeliveriesDeadLetterQueueUrl`` → ``webhook-deliveries``."""
    suffix = "DeadLetterQueueUrl"
    return {
        re.sub(r"(?<!^)(?=[A-Z])", "-", key.removesuffix(suffix)).lower(): url
        for key, url in outputs.items()
        if key.endswith(suffix)
    }


def resolve_target(stack: str | None, table: str | None, environ: Mapping[str, str]) -> Target:
    session = boto3.Session()
    if stack:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
        if "TableName" not in outputs:
            raise AdminError(f"stack {stack} has no TableName output")
        return Target(
            table_name=outputs["TableName"],
            session=session,
            allow_loopback_webhooks=parameters.get("WebhookAllowLoopback", "false") == "true",
            usage_plan_id=outputs.get("UsagePlanId"),
            rest_api_id=outputs.get("RestApiId"),
            stage=outputs.get("StageName"),
            dead_letter_queues=_dead_letter_queues(outputs),
        )
    table_name = table or environ.get("TABLE_NAME")
    if not table_name:
        raise AdminError("say where: --stack NAME (AWS, or the local stack's lisoloo-local) or --table NAME")
    return Target(
        table_name=table_name,
        session=session,
        allow_loopback_webhooks=environ.get("WEBHOOK_ALLOW_LOOPBACK", "false") == "true",
    )
