"""Carrier credentials: never in code or in the environment, read through Powertools
Parameters from SSM Parameter Store or Secrets Manager, on first use, and cached.

One JSON document per carrier, named ``{CARRIER_SECRETS_PREFIX}/{carrier}``:
an SSM SecureString ``/{prefix}/{carrier}`` or a Secrets Manager secret ``{prefix}/{carrier}``::

    {"password": "...", "receipt_token": "lct_...", "authorization": "Bearer ..."}

``password`` is the carrier account's (Kannel sendsms-user, Jasmin user); ``receipt_token``
is the plain token ``provisioning.register_carrier`` issued for the carrier (the table keeps
only its hash), put in the receipt URLs we hand the carrier; ``authorization`` is the value
of the generic HTTP carrier's auth header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict

from lisoloo.settings import CarrierSettings


class CarrierSecrets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    password: str = ""
    receipt_token: str = ""
    authorization: str = ""

    def __repr__(self) -> str:  # never print a secret by accident
        return "CarrierSecrets(<redacted>)"

    __str__ = __repr__


SecretsLoader = Callable[[], CarrierSecrets]


def secret_name(carrier: str, settings: CarrierSettings) -> str:
    prefix = settings.carrier_secrets_prefix.strip("/")
    name = f"{prefix}/{carrier}"
    return name if settings.carrier_secrets_store == "secretsmanager" else f"/{name}"


def secrets_loader(carrier: str, settings: CarrierSettings) -> SecretsLoader:
    """A function that reads the carrier's secrets when first called, then from Powertools'
    cache for ``carrier_secrets_max_age_seconds`` (so a rotation is picked up in minutes)."""
    name = secret_name(carrier, settings)
    max_age = settings.carrier_secrets_max_age_seconds

    def load() -> CarrierSecrets:
        value: Any
        if settings.carrier_secrets_store == "secretsmanager":
            value = parameters.get_secret(name, transform="json", max_age=max_age)
        else:
            value = parameters.get_parameter(name, transform="json", decrypt=True, max_age=max_age)
        return CarrierSecrets.model_validate(value)

    return load
