"""Identifiers merchants see: message ids (24 hex, like the spec's example) and organization ids."""

from __future__ import annotations

import re
import secrets
import time

_MESSAGE_ID = re.compile(r"[0-9a-f]{24}")
_ORGANIZATION_ID = re.compile(r"org_[0-9a-f]{16}")
_SCHEDULE_ID = re.compile(r"sch_[0-9a-f]{16}")


def new_message_id(now_seconds: float | None = None) -> str:
    """Four bytes of creation time then eight random bytes: sortable, unguessable, 24 hex digits."""
    seconds = int(time.time() if now_seconds is None else now_seconds)
    return f"{seconds & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def is_message_id(value: str) -> bool:
    return bool(_MESSAGE_ID.fullmatch(value))


def new_schedule_id() -> str:
    return f"sch_{secrets.token_hex(8)}"


def is_schedule_id(value: str) -> bool:
    return bool(_SCHEDULE_ID.fullmatch(value))


def new_organization_id() -> str:
    return f"org_{secrets.token_hex(8)}"


def is_organization_id(value: str) -> bool:
    return bool(_ORGANIZATION_ID.fullmatch(value))


_INBOUND_ID = re.compile(r"in_[0-9a-f]{24}")


def new_inbound_id(now_seconds: float | None = None) -> str:
    """``in_``, six bytes of milliseconds, six random bytes: newest sorts last, unguessable."""
    milliseconds = int((time.time() if now_seconds is None else now_seconds) * 1000)
    return f"in_{milliseconds & 0xFFFFFFFFFFFF:012x}{secrets.token_hex(6)}"


def is_inbound_id(value: str) -> bool:
    return bool(_INBOUND_ID.fullmatch(value))
