"""Delivering one job: sign with the organization's secrets, re-check and pin the address, POST."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.errors import StorageError
from lisoloo.finding_entities import DeliveryAttempt
from lisoloo.models import WebhookDeliveryJob
from lisoloo.observability import logger, metrics
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.addresses import UnsafeWebhookUrlError, check_webhook_url
from lisoloo.webhooks.delivery import DeliveryResult, post_event, retry_delay_seconds
from lisoloo.webhooks.signing import webhook_headers


class WebhookDeliveryFailedError(Exception):
    """The endpoint did not answer 2xx; the job is retried after ``retry_in_seconds``."""

    def __init__(self, message: str, retry_in_seconds: int) -> None:
        super().__init__(message)
        self.retry_in_seconds = retry_in_seconds


def deliver(
    job: WebhookDeliveryJob, repository: SmsRepository, settings: Settings, now: datetime, *, attempt: int = 1
) -> DeliveryResult | None:
    """Returns the endpoint's answer, or None when the job is dropped (no secret, or the URL now
    leads somewhere it must not: a retry would not make it safe). Every POST is recorded as
    attempt number ``attempt`` (``GET /webhook/deliveries``)."""
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
    started = time.monotonic()
    result = post_event(target, headers, job.body)
    duration_ms = int((time.monotonic() - started) * 1000)
    retry_in = retry_delay_seconds(attempt, settings.webhooks.webhook_first_retry_seconds)
    last = attempt >= settings.webhooks.webhook_max_attempts
    next_try = None if result.delivered or last else now + timedelta(seconds=retry_in)
    _record(
        repository,
        DeliveryAttempt(
            org_id=job.org_id,
            event_id=job.event_id,
            event_type=job.event_type,
            url=job.url,
            attempt=attempt,
            status_code=result.status_code,
            error=result.error,
            duration_ms=duration_ms,
            attempted_at=now,
            next_try_at=next_try,
        ),
    )
    if not result.delivered:
        metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
        raise WebhookDeliveryFailedError(
            f"{job.event_id} to {target.host}: {result.status_code or result.error}", retry_in
        )
    metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)
    return result


def _record(repository: SmsRepository, attempt: DeliveryAttempt) -> None:
    """The record is for the merchant's eyes; failing to write it must not send the event again."""
    try:
        repository.delivery_attempts.record(attempt)
    except StorageError:
        logger.warning("webhook attempt not recorded", extra={"event_id": attempt.event_id})
