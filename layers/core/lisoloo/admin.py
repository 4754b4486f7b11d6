"""``lisoloo-admin`` (or ``python -m lisoloo.admin``): organizations, app-keys and their settings.

One code path for AWS and for the local stack; where it acts comes from the environment:

* ``--stack NAME``: the CloudFormation stack's outputs name the table, the default usage plan,
  the REST API and its stage. In AWS that is the deployed stack (``lisoloo-sms-api-prod``);
  locally, ``AWS_ENDPOINT_URL`` set to the moto URL of the ``LISOLOO_LOCAL_READY`` line and
  ``--stack lisoloo-local``.
* ``--table NAME`` (or ``TABLE_NAME``): the table only, e.g. a test or a stack without usage plans.

Throttling lives in two places, kept in step here: the organization's item (the local gateway
reads it) and, when the stack has usage plans (AWS), API Gateway: every organization has an API
key whose value is its id (the authorizer's ``usageIdentifierKey``), in the default plan or in
a plan of its own when it has its own limits. Keys are shown once and stored as SHA-256 only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lisoloo.entities import AppKeyInfo, OrganizationRecord
from lisoloo.errors import DomainError, OrganizationNotFoundError
from lisoloo.models import check_sender_id
from lisoloo.provisioning import IssuedAppKey, create_organization, issue_key, register_carrier
from lisoloo.settings import ResourceSettings, Settings, WebhookSettings
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.subscriptions import configure_webhook

# How long an authorizer result is cached (template: ReauthorizeEvery): a revoked key may work
# this long after revocation.
AUTHORIZER_CACHE_SECONDS = 300


class AdminError(Exception):
    """A refusal to show the operator as is (exit status 2)."""


# --- where the CLI acts -----------------------------------------------------------------------


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


# --- API Gateway usage plans (AWS only: moto's CloudFormation has no usage plans) ------------


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


# --- the operations (each returns what the CLI prints) -----------------------------------------


class Admin:
    def __init__(self, target: Target, now: datetime | None = None) -> None:
        self.target = target
        self.repository = SmsRepository(target.table_name, client=target.session.client("dynamodb"))
        self._now = now
        self.usage_plans = (
            UsagePlans(
                target.session.client("apigateway"), target.usage_plan_id, target.rest_api_id or "", target.stage or ""
            )
            if target.usage_plan_id
            else None
        )

    @property
    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    def create_org(self, name: str, country: str, webhook_url: str | None, label: str | None) -> dict[str, Any]:
        country = _country(country)
        org_id = create_organization(self.repository, name=name, default_country=country)
        if self.usage_plans is not None:
            self.usage_plans.enroll(org_id)
        issued = issue_key(self.repository, org_id, label=label)
        result: dict[str, Any] = {"org_id": org_id, "name": name, "default_country": country, **_issued(issued)}
        if webhook_url:
            result["webhook"] = self.set_webhook(org_id, webhook_url)
        return result

    def show(self, org_id: str) -> dict[str, Any]:
        organization = self._organization(org_id)
        return {
            "org_id": organization.org_id,
            "name": organization.name,
            "default_country": organization.default_country,
            "webhook_url": organization.webhook_url,
            "webhook_secret_configured": bool(organization.webhook_secret),
            "sender_ids": list(organization.sender_ids),
            "rate_limit": _limit(organization),
            "app_keys": [_key_row(key, self.now) for key in self.repository.organizations.list_app_keys(org_id)],
        }

    def list_keys(self, org_id: str) -> list[dict[str, Any]]:
        self._organization(org_id)
        return [_key_row(key, self.now) for key in self.repository.organizations.list_app_keys(org_id)]

    def issue(self, org_id: str, label: str | None) -> dict[str, Any]:
        self._organization(org_id)
        return _issued(issue_key(self.repository, org_id, label=label))

    def revoke(self, org_id: str, key_id: str, grace_seconds: int = 0) -> dict[str, Any]:
        revoked = self.repository.organizations.revoke_app_key(
            org_id, key_id, self.now + timedelta(seconds=grace_seconds)
        )
        if revoked is None:
            raise AdminError(f"{org_id} has no key {key_id}")
        row = _key_row(revoked, self.now)
        # API Gateway caches the authorizer's answer per key: that long it may still pass.
        row["stops_working_by"] = _time((revoked.revoked_at or self.now) + timedelta(seconds=AUTHORIZER_CACHE_SECONDS))
        return row

    def rotate(self, org_id: str, key_id: str, grace_seconds: int) -> dict[str, Any]:
        """A new key now; the old one stops after ``grace_seconds`` (0: at once)."""
        if not any(key.key_id == key_id for key in self.repository.organizations.list_app_keys(org_id)):
            raise AdminError(f"{org_id} has no key {key_id}")
        issued = issue_key(self.repository, org_id)
        return {**_issued(issued), "old_key": self.revoke(org_id, key_id, grace_seconds)}

    def set_webhook(self, org_id: str, url: str | None) -> dict[str, Any]:
        self._organization(org_id)
        settings = Settings(
            resources=ResourceSettings(table_name=self.target.table_name),
            webhooks=WebhookSettings(webhook_allow_loopback=self.target.allow_loopback_webhooks),
        )
        configuration = configure_webhook(self.repository, org_id, url, settings, self.now)
        shown = configuration.model_dump()
        if configuration.secret is None:
            shown.pop("secret")
        return shown

    def register_carrier(self, carrier: str) -> dict[str, Any]:
        """The carrier's receipt token, shown once: it goes in the carrier's secret
        (``receipt_token``) and so into the receipt URLs dispatch hands the carrier."""
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", carrier):
            raise AdminError("a carrier name is lowercase letters, digits, - and _ (sandbox, kannel, jasmin, ...)")
        return {"carrier": carrier, "receipt_token": register_carrier(self.repository, carrier)}

    def set_country(self, org_id: str, country: str) -> dict[str, Any]:
        self._write(
            lambda: self.repository.organizations.set_default_country(org_id, _country(country), self.now), org_id
        )
        return self.show(org_id)

    def set_sender_ids(self, org_id: str, sender_ids: Sequence[str]) -> dict[str, Any]:
        try:
            checked = [check_sender_id(sender_id) for sender_id in sender_ids]
        except ValueError as error:
            raise AdminError(str(error)) from None
        if len(set(checked)) != len(checked):
            raise AdminError("sender ids repeat")
        self._write(lambda: self.repository.organizations.set_sender_ids(org_id, checked, self.now), org_id)
        return self.show(org_id)

    def set_rate_limit(self, org_id: str, rate: int | None, burst: int | None) -> dict[str, Any]:
        if (rate is None) != (burst is None) or (rate is not None and (rate < 1 or (burst or 0) < 1)):
            raise AdminError("give both --rate and --burst (positive integers), or --default")
        self._organization(org_id)
        if self.usage_plans is not None:
            if rate is None or burst is None:
                self.usage_plans.clear_limit(org_id)
            else:
                self.usage_plans.set_limit(org_id, rate, burst)
        self._write(lambda: self.repository.organizations.set_rate_limit(org_id, rate, burst, self.now), org_id)
        shown = self.show(org_id)
        shown["enforced_by"] = "API Gateway usage plan" if self.usage_plans else "the table (local gateway)"
        return shown

    def replay_dead_letters(self, name: str, limit: int, dry_run: bool) -> dict[str, Any]:
        """Moves up to ``limit`` messages from a dead-letter queue back to the queue that gave up on
        them, body and attributes unchanged, deleting each only once it is re-queued. Safe to run
        twice: dispatch claims recipients, receipts only move recipients forward, and a webhook
        keeps its ``webhook-id`` (receivers drop what they have seen). What `aws sqs
        start-message-move-task` does in AWS, but also on the local stack (moto has no move tasks)."""
        queues = self.target.dead_letter_queues
        if name not in queues:
            raise AdminError(f"no dead-letter queue {name!r}: --stack NAME knows {', '.join(sorted(queues)) or 'none'}")
        sqs = self.target.session.client("sqs")
        dead_letters = queues[name]
        sources = sqs.list_dead_letter_source_queues(QueueUrl=dead_letters).get("queueUrls", [])
        if len(sources) != 1:
            raise AdminError(f"{name}: no single queue redrives into it (a stream's failures: see docs/reliability.md)")
        moved: list[dict[str, Any]] = []
        while len(moved) < limit:
            received = sqs.receive_message(
                QueueUrl=dead_letters,
                MaxNumberOfMessages=min(10, limit - len(moved)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                # A dry run only looks: the messages are visible again right after.
                VisibilityTimeout=0 if dry_run else 60,
            ).get("Messages", [])
            if not received:
                break
            for message in received:
                attributes = message.get("Attributes", {})
                moved.append(
                    {
                        "id": message["MessageId"],
                        "receives": int(attributes.get("ApproximateReceiveCount", 0)),
                        "first_received": attributes.get("ApproximateFirstReceiveTimestamp"),
                        "body": _context(message["Body"]),
                    }
                )
                if dry_run:
                    continue
                sqs.send_message(
                    QueueUrl=sources[0],
                    MessageBody=message["Body"],
                    **({"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}),
                )
                sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=message["ReceiptHandle"])
            if dry_run:
                break
        return {"queue": name, "to": sources[0], "dry_run": dry_run, "count": len(moved), "messages": moved}

    def _organization(self, org_id: str) -> OrganizationRecord:
        organization = self.repository.organizations.get(org_id)
        if organization is None:
            raise AdminError(f"no organization {org_id}")
        return organization

    @staticmethod
    def _write(action: Callable[[], None], org_id: str) -> None:
        try:
            action()
        except OrganizationNotFoundError:
            raise AdminError(f"no organization {org_id}") from None


def _country(country: str) -> str:
    import phonenumbers  # only here: the rest of the CLI does not need its metadata loaded

    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise AdminError(f"{country!r} is not an ISO 3166 country code phonenumbers knows")
    return code


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issued(issued: IssuedAppKey) -> dict[str, Any]:
    return {"key_id": issued.key_id, "app_key": issued.app_key, "hint": issued.hint}


def _key_row(key: AppKeyInfo, now: datetime) -> dict[str, Any]:
    row = asdict(key)
    row["created_at"] = _time(key.created_at)
    row["revoked_at"] = _time(key.revoked_at) if key.revoked_at else None
    row["active"] = key.active(now)
    return row


def _context(body: str) -> Any:
    """A dead letter's job as JSON (what it was about: org, message, event), else its first bytes."""
    try:
        job = json.loads(body)
    except ValueError:
        return body[:200]
    if isinstance(job, dict) and isinstance(job.get("body"), str):
        job = {**job, "body": job["body"][:200]}  # a webhook's payload: the head is enough to recognise it
    return job


def _limit(organization: OrganizationRecord) -> dict[str, int] | None:
    if organization.rate_limit is None or organization.burst_limit is None:
        return None
    return {"rate_per_second": organization.rate_limit, "burst": organization.burst_limit}


# --- the command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lisoloo-admin",
        description="Organizations, app-keys and their settings, in AWS or on the local stack.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="CloudFormation stack name (its outputs name the table and usage plan)")
    where.add_argument("--table", help="the SMS table's name (default: $TABLE_NAME); no usage plans")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create-org", help="a new organization and its first app-key")
    create.add_argument("name")
    create.add_argument("--country", default="KE", help="reads national-format numbers (default KE)")
    create.add_argument("--webhook-url", help="https URL the organization's events are POSTed to")
    create.add_argument("--label", help="a note on the first key, e.g. 'production server'")

    show = commands.add_parser("show", help="an organization's settings and keys")
    show.add_argument("org_id")

    keys = commands.add_parser("keys", help="app-keys: list, issue, rotate, revoke")
    key_commands = keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    listing = key_commands.add_parser("list", help="key ids, hints and dates (never the keys)")
    listing.add_argument("org_id")
    issue = key_commands.add_parser("issue", help="a new key, shown once")
    issue.add_argument("org_id")
    issue.add_argument("--label")
    rotate = key_commands.add_parser("rotate", help="a new key; the old one stops after --grace-seconds")
    rotate.add_argument("org_id")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace-seconds", type=int, default=0)
    revoke = key_commands.add_parser("revoke", help="the key stops working (within the authorizer cache, 5 min)")
    revoke.add_argument("org_id")
    revoke.add_argument("key_id")

    webhook = commands.add_parser("set-webhook", help="the webhook URL (its signing secret is shown the first time)")
    webhook.add_argument("org_id")
    webhook.add_argument("url", nargs="?")
    webhook.add_argument("--clear", action="store_true", help="stop sending webhooks")

    country = commands.add_parser("set-country", help="the default country for national-format numbers")
    country.add_argument("org_id")
    country.add_argument("country")

    senders = commands.add_parser("set-sender-ids", help="sender ids the organization may use (first = default)")
    senders.add_argument("org_id")
    senders.add_argument("sender_ids", nargs="*", help="none: any sender id")

    limit = commands.add_parser("rate-limit", help="the organization's own throttle, or back to the default plan")
    limit.add_argument("org_id")
    limit.add_argument("--rate", type=int, help="requests per second")
    limit.add_argument("--burst", type=int, help="requests at once above the rate")
    limit.add_argument("--default", action="store_true", help="back to the default usage plan")

    carrier = commands.add_parser(
        "register-carrier", help="a carrier's receipt token, shown once (replaces the previous one)"
    )
    carrier.add_argument("carrier", help="the connector's name: kannel, jasmin, the generic carrier's name")

    replay = commands.add_parser(
        "replay-dlq", help="move a dead-letter queue's messages back to their queue (needs --stack)"
    )
    replay.add_argument("queue", help="dispatch, receipts or webhook-deliveries")
    replay.add_argument("--max", type=int, default=1_000, help="at most this many messages (default 1000)")
    replay.add_argument("--dry-run", action="store_true", help="list them with their context; move nothing")
    return parser


def run(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Any:
    """Runs one command and returns what it prints (tests call this)."""
    return _execute(_parser().parse_args(argv), os.environ if environ is None else environ)


def _execute(options: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    admin = Admin(resolve_target(options.stack, options.table, environ))
    command = options.command
    if command == "create-org":
        return admin.create_org(options.name, options.country, options.webhook_url, options.label)
    if command == "show":
        return admin.show(options.org_id)
    if command == "keys":
        actions: dict[str, Callable[[], Any]] = {
            "list": lambda: admin.list_keys(options.org_id),
            "issue": lambda: admin.issue(options.org_id, options.label),
            "rotate": lambda: admin.rotate(options.org_id, options.key_id, options.grace_seconds),
            "revoke": lambda: admin.revoke(options.org_id, options.key_id),
        }
        return actions[options.key_command]()
    if command == "set-webhook":
        if options.clear == bool(options.url):
            raise AdminError("give a URL, or --clear")
        return admin.set_webhook(options.org_id, None if options.clear else options.url)
    if command == "set-country":
        return admin.set_country(options.org_id, options.country)
    if command == "set-sender-ids":
        return admin.set_sender_ids(options.org_id, options.sender_ids)
    if command == "rate-limit":
        if options.default:
            return admin.set_rate_limit(options.org_id, None, None)
        return admin.set_rate_limit(options.org_id, options.rate, options.burst)
    if command == "register-carrier":
        return admin.register_carrier(options.carrier)
    if command == "replay-dlq":
        return admin.replay_dead_letters(options.queue, options.max, options.dry_run)
    raise AdminError(f"unknown command {command}")


def _text(result: Any) -> str:
    lines: list[str] = []
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        for name, value in row.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"{name}:")
                lines.extend("  " + json.dumps(item) for item in value)
            else:
                lines.append(f"{name}: {json.dumps(value) if isinstance(value, dict | list) else value}")
        lines.append("")
    secrets = [name for name in ("app_key", "secret", "receipt_token") if _contains(result, name)]
    if secrets:
        lines.append(f"Store the {' and '.join(secrets)} now: it is shown this once and kept only hashed or sealed.")
    return "\n".join(lines).rstrip() + "\n"


def _contains(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return (name in value and value[name] is not None) or any(_contains(item, name) for item in value.values())
    if isinstance(value, list):
        return any(_contains(item, name) for item in value)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        result = _execute(options, os.environ)
    except (AdminError, DomainError) as error:
        print(f"lisoloo-admin: {error}", file=sys.stderr)
        return 2
    except ClientError as error:
        print(f"lisoloo-admin: AWS refused: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n" if options.json else _text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
