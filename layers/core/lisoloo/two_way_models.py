"""Pydantic models of the two-way API (DESIGN §9): suppressions and inbound messages."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictStr

from lisoloo.models import Model, Timestamp

MAX_BULK_SUPPRESSIONS = 10_000
MAX_REASON_CHARACTERS = 200
# A page cursor is the last number of the page before (E.164), or the last inbound id.
NUMBER_CURSOR = r"^\+[0-9]{8,15}$"
INBOUND_CURSOR = r"^in_[0-9a-f]{24}$"

Reason = Annotated[StrictStr, Field(min_length=1, max_length=MAX_REASON_CHARACTERS)]


class SuppressionRequest(Model):
    """The body of ``PUT /suppressions/{number}`` (it may be empty: ``{}``)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class BulkSuppressionRequest(Model):
    """The body of ``POST /suppressions``."""

    model_config = ConfigDict(extra="forbid")

    numbers: Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_BULK_SUPPRESSIONS)]
    reason: Reason | None = None


class Suppression(Model):
    number: str
    reason: str | None = None
    source: Annotated[str, Field(description="api, bulk, or keyword (the number replied STOP).")]
    created_at: Timestamp
    updated_at: Timestamp


class SuppressionPage(Model):
    suppressions: list[Suppression]
    cursor: Annotated[str | None, Field(description="Pass as ?cursor= for the next page; null on the last.")] = None


class BulkSuppressed(Model):
    suppressed: int


class SuppressionRemoved(Model):
    number: str
    suppressed: bool = False
