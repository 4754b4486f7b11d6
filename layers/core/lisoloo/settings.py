"""Settings: one pydantic model, read from the environment once per cold start."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Every knob a function reads; the values come from the template's Globals."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str
    dispatch_queue_url: str = ""
    delivery_timeout_seconds: int = Field(default=86_400, gt=0)
    retention_days: int = Field(default=90, gt=0)
    carrier: str = "sandbox"
    sandbox_carrier_url: str = ""
    # Recipients one dispatch job claims and submits together; also the status page size.
    chunk_size: int = Field(default=100, ge=1, le=1_000)
    # How long an authorizer or a carrier may take to answer before we give up on it.
    carrier_timeout_seconds: float = Field(default=10.0, gt=0)


@cache
def get_settings() -> Settings:
    """Environment variable names are the fields' names in upper case (TABLE_NAME, ...)."""
    return Settings.model_validate({name.lower(): value for name, value in os.environ.items()})
