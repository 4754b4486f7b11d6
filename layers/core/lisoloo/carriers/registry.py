"""Which connector serves a carrier name; the one place that knows the list."""

from __future__ import annotations

from lisoloo.carriers.base import Carrier
from lisoloo.carriers.generic import GenericHttpCarrier, GenericHttpConfig, mapping_from_setting
from lisoloo.carriers.jasmin import JasminCarrier, JasminConfig
from lisoloo.carriers.kannel import KannelCarrier, KannelConfig
from lisoloo.carriers.sandbox import SandboxCarrier
from lisoloo.carriers.secrets import secrets_loader
from lisoloo.errors import CarrierNotFoundError
from lisoloo.settings import CarrierSettings


def carrier_named(name: str, settings: CarrierSettings) -> Carrier:
    """The connector for ``name``. Real carriers are built from settings (URLs, usernames,
    mapping) and read their secrets only when they first submit, so the receipts function
    (which only parses) never needs access to them."""
    if name == SandboxCarrier.name:
        return SandboxCarrier(settings.sandbox_carrier_url, settings.carrier_timeout_seconds)
    if name == KannelCarrier.name:
        return KannelCarrier(
            KannelConfig(
                sendsms_url=settings.kannel_sendsms_url,
                username=settings.kannel_username,
                receipts_base_url=settings.receipts_base_url,
                default_sender=settings.carrier_sender_id,
                smsc=settings.kannel_smsc,
                timeout_seconds=settings.carrier_timeout_seconds,
                concurrency=settings.carrier_concurrency,
                budget_seconds=settings.carrier_submit_budget_seconds,
            ),
            secrets_loader(name, settings),
        )
    if name == JasminCarrier.name:
        return JasminCarrier(
            JasminConfig(
                send_url=settings.jasmin_send_url,
                username=settings.jasmin_username,
                receipts_base_url=settings.receipts_base_url,
                default_sender=settings.carrier_sender_id,
                timeout_seconds=settings.carrier_timeout_seconds,
                concurrency=settings.carrier_concurrency,
                budget_seconds=settings.carrier_submit_budget_seconds,
            ),
            secrets_loader(name, settings),
        )
    if name == settings.http_carrier_name:
        return GenericHttpCarrier(
            GenericHttpConfig(
                name=name,
                url=settings.http_carrier_url,
                receipts_base_url=settings.receipts_base_url,
                auth_header=settings.http_carrier_auth_header,
                mapping=mapping_from_setting(settings.http_carrier_mapping),
                default_sender=settings.carrier_sender_id,
                timeout_seconds=settings.carrier_timeout_seconds,
                concurrency=settings.carrier_concurrency,
                budget_seconds=settings.carrier_submit_budget_seconds,
            ),
            secrets_loader(name, settings),
        )
    raise CarrierNotFoundError()
