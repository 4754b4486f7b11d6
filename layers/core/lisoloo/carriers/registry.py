"""Which connector serves a carrier: built from its configuration (DESIGN §8, carriers as
data), or, for a stack upgraded from one carrier, from the template's settings; the one place
that knows the list of connector types."""

from __future__ import annotations

from lisoloo.carriers.base import Carrier
from lisoloo.carriers.generic import GenericHttpCarrier, GenericHttpConfig, mapping_from_setting
from lisoloo.carriers.jasmin import JasminCarrier, JasminConfig
from lisoloo.carriers.kannel import KannelCarrier, KannelConfig
from lisoloo.carriers.sandbox import SandboxCarrier
from lisoloo.carriers.secrets import secrets_loader
from lisoloo.errors import CarrierNotFoundError
from lisoloo.routing import CarrierConfig, CarrierType
from lisoloo.settings import CarrierSettings


def settings_config(name: str, settings: CarrierSettings) -> CarrierConfig | None:
    """The carrier ``name`` as the template's parameters describe it (the single-carrier
    settings before routing), or None when they describe no carrier of that name."""
    if name == SandboxCarrier.name:
        return CarrierConfig(name, CarrierType.SANDBOX, url=settings.sandbox_carrier_url)
    if name == KannelCarrier.name:
        return CarrierConfig(
            name,
            CarrierType.KANNEL,
            url=settings.kannel_sendsms_url,
            username=settings.kannel_username,
            smsc=settings.kannel_smsc,
        )
    if name == JasminCarrier.name:
        return CarrierConfig(name, CarrierType.JASMIN, url=settings.jasmin_send_url, username=settings.jasmin_username)
    if name == settings.http_carrier_name:
        return CarrierConfig(
            name,
            CarrierType.HTTP,
            url=settings.http_carrier_url,
            auth_header=settings.http_carrier_auth_header,
            mapping=settings.http_carrier_mapping,
        )
    return None


def connector_for(config: CarrierConfig, settings: CarrierSettings) -> Carrier:
    """The connector for a configured carrier. Real carriers read their secrets
    (``{CarrierSecretsPrefix}/{name}``) only when they first submit, so the receipts function
    (which only parses) never needs access to them."""
    name = config.name
    if config.type is CarrierType.SANDBOX:
        return SandboxCarrier(config.url, settings.carrier_timeout_seconds, name=name)
    if config.type is CarrierType.KANNEL:
        kannel = KannelConfig(
            sendsms_url=config.url,
            username=config.username,
            receipts_base_url=settings.receipts_base_url,
            default_sender=settings.carrier_sender_id,
            smsc=config.smsc,
            timeout_seconds=settings.carrier_timeout_seconds,
            concurrency=settings.carrier_concurrency,
            budget_seconds=settings.carrier_submit_budget_seconds,
        )
        return KannelCarrier(kannel, secrets_loader(name, settings), name=name)
    if config.type is CarrierType.JASMIN:
        jasmin = JasminConfig(
            send_url=config.url,
            username=config.username,
            receipts_base_url=settings.receipts_base_url,
            default_sender=settings.carrier_sender_id,
            timeout_seconds=settings.carrier_timeout_seconds,
            concurrency=settings.carrier_concurrency,
            budget_seconds=settings.carrier_submit_budget_seconds,
        )
        return JasminCarrier(jasmin, secrets_loader(name, settings), name=name)
    return GenericHttpCarrier(
        GenericHttpConfig(
            name=name,
            url=config.url,
            receipts_base_url=settings.receipts_base_url,
            auth_header=config.auth_header,
            mapping=mapping_from_setting(config.mapping),
            default_sender=settings.carrier_sender_id,
            timeout_seconds=settings.carrier_timeout_seconds,
            concurrency=settings.carrier_concurrency,
            budget_seconds=settings.carrier_submit_budget_seconds,
        ),
        secrets_loader(name, settings),
    )


def carrier_named(name: str, settings: CarrierSettings) -> Carrier:
    """The connector the template's settings describe for ``name`` (CarrierNotFoundError if none)."""
    config = settings_config(name, settings)
    if config is None:
        raise CarrierNotFoundError()
    return connector_for(config, settings)
