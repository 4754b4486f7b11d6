"""Which connector serves a carrier name; the one place that knows the list."""

from __future__ import annotations

from lisoloo.carriers.base import Carrier
from lisoloo.carriers.sandbox import SandboxCarrier
from lisoloo.errors import CarrierNotFoundError
from lisoloo.settings import Settings


def carrier_named(name: str, settings: Settings) -> Carrier:
    if name == SandboxCarrier.name:
        return SandboxCarrier(settings.sandbox_carrier_url, settings.carrier_timeout_seconds)
    raise CarrierNotFoundError()
