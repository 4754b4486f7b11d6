"""API Gateway usage plans, kept in step with organizations' own limits (AWS only: moto's
CloudFormation has no usage plans; locally the gateway reads the limits from the table)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class UsagePlans:
    """Each organization's API key (value = org id) and the plan it is in."""

    def __init__(self, client: Any, default_plan_id: str, rest_api_id: str, stage: str) -> None:
        self.client = client
        self.default_plan_id = default_plan_id
        self.rest_api_id = rest_api_id
        self.stage = stage

    @staticmethod
    def key_name(org_id: str) -> str:
        return f"lisoloo-{org_id}"

    def own_plan_name(self, org_id: str) -> str:
        return f"lisoloo-sms-api-{self.stage}-{org_id}"

    def enroll(self, org_id: str) -> str:
        """The organization's API key, in the default plan; returns its id."""
        key = self.client.create_api_key(
            name=self.key_name(org_id),
            value=org_id,
            enabled=True,
            description="Usage-plan identity of a Lisoloo organization (not a secret: callers use app-keys).",
        )
        self._join(self.default_plan_id, key["id"])
        return str(key["id"])

    def set_limit(self, org_id: str, rate_limit: int, burst_limit: int) -> str:
        """Moves the key to the organization's own plan (created or updated); returns its id."""
        key_id = self._key_id(org_id)
        plan_id = self._own_plan_id(org_id)
        if plan_id is None:
            plan_id = self.client.create_usage_plan(
                name=self.own_plan_name(org_id),
                description=f"Rate limit of {org_id} (lisoloo-admin rate-limit)",
                apiStages=[{"apiId": self.rest_api_id, "stage": self.stage}],
                throttle={"rateLimit": float(rate_limit), "burstLimit": burst_limit},
            )["id"]
        else:
            self.client.update_usage_plan(
                usagePlanId=plan_id,
                patchOperations=[
                    {"op": "replace", "path": "/throttle/rateLimit", "value": str(rate_limit)},
                    {"op": "replace", "path": "/throttle/burstLimit", "value": str(burst_limit)},
                ],
            )
        self._join(plan_id, key_id)
        self._leave(self.default_plan_id, key_id)
        return str(plan_id)

    def clear_limit(self, org_id: str) -> None:
        """Back to the default plan; the organization's own plan is deleted."""
        key_id = self._key_id(org_id)
        self._join(self.default_plan_id, key_id)
        plan_id = self._own_plan_id(org_id)
        if plan_id is not None:
            self._leave(plan_id, key_id)
            # A plan must let go of its stages before it can be deleted.
            self.client.update_usage_plan(
                usagePlanId=plan_id,
                patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{self.rest_api_id}:{self.stage}"}],
            )
            self.client.delete_usage_plan(usagePlanId=plan_id)

    def _key_id(self, org_id: str) -> str:
        keys = self.client.get_api_keys(nameQuery=self.key_name(org_id), includeValues=False)["items"]
        exact = [key for key in keys if key["name"] == self.key_name(org_id)]
        return str(exact[0]["id"]) if exact else self.enroll(org_id)

    def _own_plan_id(self, org_id: str) -> str | None:
        name = self.own_plan_name(org_id)
        for page in self.client.get_paginator("get_usage_plans").paginate():
            for plan in page["items"]:
                if plan["name"] == name:
                    return str(plan["id"])
        return None

    def _join(self, plan_id: str, key_id: str) -> None:
        if not self._member(plan_id, key_id):
            self.client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")

    def _leave(self, plan_id: str, key_id: str) -> None:
        if self._member(plan_id, key_id):
            self.client.delete_usage_plan_key(usagePlanId=plan_id, keyId=key_id)

    def _member(self, plan_id: str, key_id: str) -> bool:
        try:
            self.client.get_usage_plan_key(usagePlanId=plan_id, keyId=key_id)
        except ClientError as error:
            if error.response["Error"]["Code"] == "NotFoundException":
                return False
            raise
        return True
