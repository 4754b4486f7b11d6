"""Delivering one job: sign with the organization's secrets, re-check and pin the address, POST."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.models import WebhookDeliveryJob
from lisoloo.observability import logger, metrics
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.addresses import UnsafeWebhookUrlError, check_webhook_url
from lisoloo.webhooks.delivery import DeliveryResult, post_event
from lisoloo.webhooks.signing import webhook_headers


class WebhookDeliveryFailedError(Exception):
    """The endpoint did not answer 2xx; the job is retried later with backoff."""


def deliver(
    job: WebhookDeliveryJob, repository: SmsRepository, settings: Settings, now: datetime
) -> DeliveryResult | None:
    """Returns the endpoint's answer, or None when the job is dropped (no secret, or the URL now
    leads somewhere it must not: a retry would not make it safe)."""
    organization = repository.organizations.get(job.org_id)
    secrets = organization.signing_secrets(now) if organization else []
    if not secrets:
        logger.warning("webhook dropped: organization has no signing secret", extra={"org_id": job.org_id})
        return None
    try:
        target = check_webhook_url(job.url, allow_loopback=settings.webhooks.webhook_allow_loopback)
    except UnsafeWebhookUrlError as error:
        metrics.add_metric(name="WebhooksRefusedUnsafe", unit=MetricUnit.Count, value=1)
        logger.warning(
            "webhook dropped: unsafe address at delivery", extra={"event_id": job.event_id, "why": str(error)}
        )
        return None
    headers = webhook_headers(secrets, job.event_id, int(now.timestamp()), job.body)
    result = post_event(target, headers, job.body)
    if not result.delivered:
        metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
        raise WebhookDeliveryFailedError(f"{job.event_id} to {target.host}: {result.status_code or result.error}")
    metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
    return result
