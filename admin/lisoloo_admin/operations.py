"""What ``lisoloo-admin`` does, one method per command; each returns what the CLI prints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from lisoloo.errors import OrganizationNotFoundError
from lisoloo.models import check_sender_id
from lisoloo.organization_entities import AppKeyInfo, OrganizationRecord
from lisoloo.settings import ResourceSettings, Settings, WebhookSettings
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.subscriptions import configure_webhook
from lisoloo_admin.provisioning import IssuedAppKey, create_organization, issue_key, register_carrier
from lisoloo_admin.target import AdminError, Target
from lisoloo_admin.usage_plans import UsagePlans

# How long an authorizer result is cached (template: ReauthorizeEvery): a revoked key may work
# this long after revocation.
AUTHORIZER_CACHE_SECONDS = 300


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
