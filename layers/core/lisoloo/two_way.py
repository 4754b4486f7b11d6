"""The two-way vocabulary (DESIGN §9): plain values storage hands use cases, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lisoloo.keywords import Keyword, OrganizationWords


class SuppressionSource(StrEnum):
    """How a number came onto a suppression list."""

    API = "api"  # PUT /suppressions/{number}
    BULK = "bulk"  # POST /suppressions
    KEYWORD = "keyword"  # the number replied STOP (or one of the organization's own words)
    LINK = "link"  # the number's recipient confirmed an opt-out link (DESIGN §12)


@dataclass(frozen=True, slots=True)
class SuppressionRecord:
    number: str
    reason: str | None
    source: SuppressionSource
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InboundNumber:
    """Where replies reach an organization: a dedicated number (``keyword`` None), or a shared
    short code whose replies start with the organization's ``keyword``."""

    number: str
    org_id: str
    keyword: str | None = None
    assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentSettings:
    """An organization's own keywords and the replies it wants sent (none by default)."""

    words: OrganizationWords = field(default_factory=OrganizationWords)
    stop_reply: str | None = None
    start_reply: str | None = None
    help_reply: str | None = None

    def reply_to(self, keyword: Keyword | None) -> str | None:
        if keyword is Keyword.STOP:
            return self.stop_reply
        if keyword is Keyword.START:
            return self.start_reply
        if keyword is Keyword.HELP:
            return self.help_reply
        return None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A reply as stored for its organization."""

    org_id: str
    inbound_id: str
    sender: str  # "from" on the wire
    receiver: str  # "to": our number or short code
    text: str
    keyword: Keyword | None
    received_at: datetime
    in_reply_to: str | None
    carrier: str
    carrier_id: str | None = None


def consent_change(keyword: Keyword | None, sender: str) -> Keyword | None:
    """What a reply does to its sender's place on the suppression list: STOP adds it, START
    lifts it; only a phone number (E.164) can be on the list, not a sender name."""
    if keyword in (Keyword.STOP, Keyword.START) and sender.startswith("+"):
        return keyword
    return None
