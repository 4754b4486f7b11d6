"""An organization's webhook settings: its URL and its signing secret (shown once)."""

from __future__ import annotations

from datetime import datetime, timedelta

from lisoloo.models import WebhookConfiguration
from lisoloo.settings import Settings
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.addresses import check_webhook_url
from lisoloo.webhooks.signing import new_webhook_secret

# How long a rotated-out secret keeps signing alongside the new one.
ROTATION_OVERLAP = timedelta(hours=24)


def read_webhook(repository: SmsRepository, org_id: str) -> WebhookConfiguration:
    organization = repository.organizations.get(org_id)
    url = organization.webhook_url if organization else None
    return WebhookConfiguration(webhook_url=url, secret_configured=bool(organization and organization.webhook_secret))


def configure_webhook(
    repository: SmsRepository, org_id: str, url: str | None, settings: Settings, now: datetime
) -> WebhookConfiguration:
    """Sets the URL after checking where it leads. The first time, the reply carries the new
    signing secret: the only time it is shown."""
    if url is not None:
        check_webhook_url(url, allow_loopback=settings.webhooks.webhook_allow_loopback)
    had_secret = read_webhook(repository, org_id).secret_configured
    secret = repository.organizations.set_webhook_url(org_id, url, new_webhook_secret(), now)
    return WebhookConfiguration(
        webhook_url=url,
        secret_configured=bool(secret),
        secret=secret if url is not None and not had_secret else None,
    )


def rotate_secret(repository: SmsRepository, org_id: str, now: datetime) -> WebhookConfiguration:
    """A new secret, returned once; the old one keeps signing for 24 h (both signatures sent)."""
    current = read_webhook(repository, org_id)
    secret = new_webhook_secret()
    if current.secret_configured:
        repository.organizations.rotate_webhook_secret(org_id, secret, now + ROTATION_OVERLAP, now)
    else:
        repository.organizations.set_webhook_url(org_id, current.webhook_url, secret, now)
    return WebhookConfiguration(webhook_url=current.webhook_url, secret_configured=True, secret=secret)
