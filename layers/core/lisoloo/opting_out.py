"""Opt-out links (DESIGN §12): ``{{opt_out_url}}`` becomes a short, unguessable link per
recipient, ``{base}/u/{token}``, on which the recipient confirms they want no more messages.
Alphanumeric sender ids cannot receive a STOP reply; this is how their recipients leave.

The token is made at send and stored with the recipient's other values, so every attempt
sends the same link and its real length is counted in the recipient's parts. Dispatch writes
the lookup from the token to the sender and number when it claims the recipient; confirming
is one transaction (the link used, the number suppressed), and the table stream turns the
link's use into ``sms.opted_out`` (``webhooks.fanout``). Tokens, links and outcomes here are
pure values; the page is ``opt_out_page``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

# The placeholder Lisoloo fills itself (``models.RESERVED_VARS``).
OPT_OUT_VAR: Final = "opt_out_url"
# 9 random bytes: 72 bits (no one guesses a live link among billions), 12 URL-safe base64
# characters, all in GSM-7's basic set, so the link never turns a text into UCS-2.
TOKEN_BYTES: Final = 9
TOKEN_LENGTH: Final = 12
TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{12}")
LINK_PATH: Final = "/u/"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(value: str) -> bool:
    return TOKEN.fullmatch(value) is not None


def opt_out_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"


def token_of(values: Mapping[str, str] | None) -> str | None:
    """The token of a recipient's stored link; None when its text has no opt-out link."""
    url = (values or {}).get(OPT_OUT_VAR)
    if url is None:
        return None
    token = url.rsplit("/", 1)[-1]
    return token if is_token(token) else None


def with_opt_out_links(values: Sequence[Mapping[str, str]], base_url: str) -> list[dict[str, str]]:
    """Each recipient's values with a link of its own (a fresh token each)."""
    return [{**given, OPT_OUT_VAR: opt_out_url(base_url, new_token())} for given in values]


@dataclass(frozen=True, slots=True)
class OptOutLink:
    """Whom a link opts out of whom: the sending organization, the number, the message that
    carried it, and what the page may name the sender as (never the organization's id)."""

    token: str
    org_id: str
    number: str
    message_id: str
    sender: str | None
    used_at: datetime | None = None


class OptOutOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_DONE = "already_done"
    UNKNOWN = "unknown"
