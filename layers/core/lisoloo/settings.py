"""Settings: one pydantic model in four groups, read from the environment and checked once, at
cold start (each handler calls ``get_settings()`` when it is imported), so a wrong value fails
the function's init with a message naming the variable, not the first request that reads it.

Environment variable names are the fields' names in upper case (``TABLE_NAME``,
``DELIVERY_TIMEOUT_SECONDS``, ...); the groups only organise them for the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from lisoloo.deadlines import retry_timing_problem
from lisoloo.quality_rules import DemotionThresholds


def _comma_separated(value: object) -> object:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ResourceSettings(_Group):
    """What the template created, by name: the tables and queues the functions use."""

    table_name: str
    idempotency_table_name: str = ""
    dispatch_queue_url: str = ""
    webhook_queue_url: str = ""
    # Parsed carrier receipts, between the receipts endpoint and receipt-apply.
    receipts_queue_url: str = ""
    # Exports (DESIGN §11): their jobs' queue, the bucket of their files, and, on the local stack
    # only, the endpoint their links are signed for (moto's server; empty: S3's own).
    exports_queue_url: str = ""
    exports_bucket: str = ""
    exports_download_endpoint: str = ""


class WebhookSettings(_Group):
    # Only the local stack sets this: webhooks may then go to http(s) on 127.0.0.0/8 and ::1.
    webhook_allow_loopback: bool = False
    # A failed webhook's first retry waits this long, doubling per attempt up to 6 hours.
    webhook_first_retry_seconds: int = Field(default=30, gt=0)
    # Tries of one delivery before the dead-letter queue (the queue's maxReceiveCount).
    webhook_max_attempts: int = Field(default=14, gt=0)


class TimeSettings(_Group):
    delivery_timeout_seconds: int = Field(default=86_400, gt=0)
    retention_days: int = Field(default=90, gt=0)
    # Seconds from the first attempt at which each carrier attempt happens: 3 attempts over 4 h.
    carrier_retry_delays: Annotated[tuple[int, ...], BeforeValidator(_comma_separated)] = (0, 3_600, 14_400)
    # A message whose dispatch has not started this long after release gets its jobs queued again.
    release_guard_seconds: int = Field(default=300, gt=0)
    # A final message's money is settled by the table stream; one whose stream record never got
    # that far (retries spent, dead-lettered) is settled by the sweep this long after it was
    # final. Well past the stream's own retries, so both rarely run (the ledger's ids charge once).
    settle_check_seconds: int = Field(default=600, gt=0)
    # How long a sweep holds due work before another sweep may take it over.
    sweep_lease_seconds: int = Field(default=120, gt=0)
    # A receipt whose carrier id is not known yet is parked and retried this often, for this long.
    parked_receipt_retry_seconds: int = Field(default=30, gt=0)
    parked_receipt_window_seconds: int = Field(default=600, gt=0)
    # How often the sweep runs: the template's rate(1 minute); locally LISOLOO_LOCAL_SWEEP_SECONDS.
    sweep_period_seconds: int = Field(default=60, gt=0)
    # A deadline waits at most this long for receipts still in the receipts queue: its redrive
    # (5 receives x 360 s visibility), after which each was applied or dead-lettered.
    deadline_receipts_wait_seconds: int = Field(default=1_800, ge=0)
    # A message with a validity period (DESIGN §12) waits this long past its end for receipts:
    # carriers report an expiry some time after the SMSC gives up. Never past the delivery timeout.
    validity_receipt_grace_seconds: int = Field(default=600, ge=0)

    @model_validator(mode="after")
    def _retries_fit_the_deadline(self) -> TimeSettings:
        problem = retry_timing_problem(
            self.delivery_timeout_seconds, self.carrier_retry_delays, self.sweep_period_seconds
        )
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def message_lifetime(self) -> timedelta:
        """How long a message is kept after it is due: the receipt window plus retention."""
        return timedelta(seconds=self.delivery_timeout_seconds) + timedelta(days=self.retention_days)


class CarrierSettings(_Group):
    """The carrier connectors (carriers/kannel.py, jasmin.py, generic.py); their secrets live in
    SSM / Secrets Manager, never here."""

    carrier: str = "sandbox"
    sandbox_carrier_url: str = ""
    # How long a container keeps a carrier's token hash (a replaced token works that long after).
    carrier_token_cache_seconds: int = Field(default=60, ge=0)
    # How long a carrier may take to answer a submission before we count it as transient.
    carrier_timeout_seconds: float = Field(default=10.0, gt=0)
    # Our API's base URL (…/api/v1/lisoloo/sms-api): receipt URLs handed to carriers start with it.
    receipts_base_url: str = ""
    # The base of opt-out links (DESIGN §12), ``{this}/u/{token}``: a short domain mapped to the
    # API keeps texts short; empty means receipts_base_url (the API's own base URL).
    opt_out_base_url: str = ""
    # The sender id used when a message names none ("" lets the carrier choose).
    carrier_sender_id: str = ""
    # Where each carrier's secrets document lives: {prefix}/{carrier} (carriers/secrets.py).
    carrier_secrets_prefix: str = "lisoloo/carriers"
    carrier_secrets_store: Literal["ssm", "secretsmanager"] = "ssm"
    carrier_secrets_max_age_seconds: int = Field(default=300, gt=0)
    # Requests in flight at once, and the time a dispatch run may spend submitting one chunk.
    carrier_concurrency: int = Field(default=8, gt=0)
    carrier_submit_budget_seconds: float = Field(default=20.0, gt=0)
    kannel_sendsms_url: str = ""
    kannel_username: str = ""
    kannel_smsc: str = ""
    jasmin_send_url: str = ""
    jasmin_username: str = ""
    # The generic JSON carrier: its name (the receipts path), URL, auth header and field mapping (JSON).
    http_carrier_name: str = "http"
    http_carrier_url: str = ""
    http_carrier_auth_header: str = "Authorization"
    http_carrier_mapping: str = ""
    # How long a container keeps a carrier's configuration and the route table before reading
    # them again: a `carriers disable` or `routes set` reaches every dispatcher within this.
    carrier_config_cache_seconds: float = Field(default=30.0, ge=0)
    # A carrier's circuit breaker opens after this many submissions (batches) in a row in which
    # it took nothing, and lets one through again this long after (per container: breaker.py).
    carrier_breaker_failures: int = Field(default=5, gt=0)
    carrier_breaker_cooldown_seconds: float = Field(default=30.0, gt=0)


class MoneySettings(_Group):
    """Prices and balances (DESIGN §10): one currency per deployment, an ISO 4217 code."""

    currency: str = Field(default="KES", pattern=r"^[A-Z]{3}$")


class QualitySettings(_Group):
    """Route quality and demotion (quality_rules.py, route_quality.py)."""

    # Figures are kept per bucket of this many seconds, and shown over the newest buckets.
    route_quality_bucket_seconds: int = Field(default=3_600, gt=0)
    route_quality_window_buckets: int = Field(default=24, gt=0)
    # A carrier is judged on at least this many recent finals, and demoted below this delivery
    # rate or above this share of delivered receipts arriving under a second after the hand-off.
    route_demotion_min_finals: int = Field(default=200, gt=0)
    route_demotion_delivery_rate: float = Field(default=0.6, ge=0, le=1)
    route_demotion_fast_share: float = Field(default=0.3, ge=0, le=1)

    def thresholds(self) -> DemotionThresholds:
        return DemotionThresholds(
            min_finals=self.route_demotion_min_finals,
            delivery_rate=self.route_demotion_delivery_rate,
            fast_share=self.route_demotion_fast_share,
        )


_GROUPS: dict[str, type[_Group]] = {
    "resources": ResourceSettings,
    "webhooks": WebhookSettings,
    "time": TimeSettings,
    "carriers": CarrierSettings,
    "money": MoneySettings,
    "quality": QualitySettings,
}


class Settings(BaseModel):
    """Every knob a function reads; the values come from the template's Globals. Built from
    flat values (the environment's names, or keyword arguments) and sorted into groups."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    resources: ResourceSettings
    webhooks: WebhookSettings = WebhookSettings()
    time: TimeSettings = TimeSettings()
    carriers: CarrierSettings = CarrierSettings()
    money: MoneySettings = MoneySettings()
    quality: QualitySettings = QualitySettings()

    @model_validator(mode="before")
    @classmethod
    def _grouped(cls, values: Any) -> Any:
        if not isinstance(values, Mapping):
            return values
        # A group given whole (a model or a mapping) is kept; the rest is sorted by field name.
        grouped = {
            name: value for name, value in values.items() if name in _GROUPS and isinstance(value, Mapping | _Group)
        }
        for group, model in _GROUPS.items():
            if group not in grouped:
                grouped[group] = {name: values[name] for name in model.model_fields if name in values}
        return grouped


class SettingsError(RuntimeError):
    """The function's environment does not make valid settings: its init fails with this."""


def read_settings(environ: Mapping[str, str]) -> Settings:
    """Settings from environment variables (the fields' names in upper case), or SettingsError
    naming each variable that is wrong and why."""
    try:
        return Settings.model_validate({name.lower(): value for name, value in environ.items()})
    except ValidationError as error:
        problems = "; ".join(
            f"{str(problem['loc'][-1]).upper()}: {problem['msg']}"
            + (f" (got {problem['input']!r})" if isinstance(problem.get("input"), str) else "")
            for problem in error.errors()
        )
        raise SettingsError(f"invalid settings in the environment: {problems}") from None


@cache
def get_settings() -> Settings:
    return read_settings(os.environ)
