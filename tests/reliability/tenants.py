"""Organizations of their own on a running local stack, for tests and the load run: created in
its table through moto's endpoint with the same provisioning code ``lisoloo-admin`` uses, so no
test spends (or changes) the demo organizations' settings or rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3

STACK_NAME = "lisoloo-local"


@dataclass(frozen=True)
class Tenant:
    org_id: str
    app_key: str


@cache
def local_repository(moto_url: str) -> Any:
    from lisoloo.storage import SmsRepository

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    resources = session.client("cloudformation", endpoint_url=moto_url).list_stack_resources(StackName=STACK_NAME)
    table = next(
        resource["PhysicalResourceId"]
        for resource in resources["StackResourceSummaries"]
        if resource["LogicalResourceId"] == "SmsTable"
    )
    return SmsRepository(table, session.client("dynamodb", endpoint_url=moto_url))


def new_tenant(moto_url: str, *, rate_limit: int | None = None, burst_limit: int | None = None) -> Tenant:
    """A fresh organization (Kenya by default) and its app-key; its own throttle if asked."""
    from lisoloo_admin.provisioning import create_organization, issue_app_key

    repository = local_repository(moto_url)
    org_id = create_organization(repository, name="reliability tests", default_country="KE")
    if rate_limit is not None:
        repository.organizations.set_rate_limit(org_id, rate_limit, burst_limit or rate_limit * 2, datetime.now(UTC))
    return Tenant(org_id=org_id, app_key=issue_app_key(repository, org_id))
