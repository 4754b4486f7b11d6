"""The status vocabulary of the spec's ``ELisolooSmsStatus`` and the rules over it.

Pure functions over plain values: no I/O, no boto3. Everything that decides what a
status means (tier, terminal, success), whether a recipient may move, and what a
message's aggregate status is, lives here and only here (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Tier(IntEnum):
    """How far along a recipient is. A recipient only ever moves to a higher tier
    (or sideways inside ``HANDED_OFF``), so a late or duplicate receipt cannot undo progress."""

    SCHEDULED = 0
    PENDING = 1
    PROCESSING = 2
    HANDED_OFF = 3
    TERMINAL = 4


class SmsStatus(StrEnum):
    """The spec's ``ELisolooSmsStatus``: all fifteen values, stable across releases."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    ACCEPTED = "accepted"
    ENROUTE = "enroute"
    SENT = "sent"
    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERY_UNKNOWN = "delivery_unknown"
    UNDELIVERED = "undelivered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NONE = "none"

    @property
    def tier(self) -> Tier | None:
        """The tier, or None for ``unknown`` (a carrier state we cannot read) and ``none``."""
        return _TIERS.get(self)

    @property
    def is_terminal(self) -> bool:
        return self.tier is Tier.TERMINAL

    @property
    def is_success(self) -> bool:
        """``delivered`` is the only fully successful terminal state (spec)."""
        return self is SmsStatus.DELIVERED


_TIERS: dict[SmsStatus, Tier] = {
    SmsStatus.SCHEDULED: Tier.SCHEDULED,
    SmsStatus.PENDING: Tier.PENDING,
    SmsStatus.PROCESSING: Tier.PROCESSING,
    SmsStatus.ACCEPTED: Tier.HANDED_OFF,
    SmsStatus.ENROUTE: Tier.HANDED_OFF,
    SmsStatus.SENT: Tier.HANDED_OFF,
    SmsStatus.DELIVERED: Tier.TERMINAL,
    SmsStatus.PARTIALLY_DELIVERED: Tier.TERMINAL,
    SmsStatus.DELIVERY_UNKNOWN: Tier.TERMINAL,
    SmsStatus.UNDELIVERED: Tier.TERMINAL,
    SmsStatus.REJECTED: Tier.TERMINAL,
    SmsStatus.EXPIRED: Tier.TERMINAL,
    SmsStatus.FAILED: Tier.TERMINAL,
}


def can_transition(current: SmsStatus, new: SmsStatus) -> bool:
    """Whether a recipient in ``current`` may move to ``new``.

    Forward only; sideways inside the handed-off tier (carriers report accepted,
    enroute and sent in any order); terminal absorbs; ``unknown``/``none`` never move anyone.
    """
    current_tier, new_tier = current.tier, new.tier
    if new_tier is None or current_tier is None:
        return False
    if current_tier is Tier.TERMINAL:
        return False
    if new_tier is Tier.HANDED_OFF and current_tier is Tier.HANDED_OFF:
        return new is not current
    return new_tier > current_tier


def is_handed_off(status: SmsStatus) -> bool:
    """Past us: handed to a carrier or final (a state we cannot read counts as not yet)."""
    return (status.tier or Tier.PENDING) >= Tier.HANDED_OFF


def goes_further(candidate: SmsStatus, kept: SmsStatus) -> bool:
    """Whether ``candidate`` replaces ``kept`` as a recipient's one move in a batch of reports:
    a higher tier wins; inside handed-off the later report wins (sideways moves are allowed
    there); a terminal state, like the row's own guard, keeps the first."""
    candidate_tier, kept_tier = candidate.tier, kept.tier
    if candidate_tier is None or kept_tier is None:
        return kept_tier is None and candidate_tier is not None
    return candidate_tier > kept_tier or candidate_tier == kept_tier == Tier.HANDED_OFF


def unclaimed_status(released: bool) -> SmsStatus:
    """How a recipient dispatch has not claimed yet shows: ``pending`` once its message is
    released, ``scheduled`` before."""
    return SmsStatus.PENDING if released else SmsStatus.SCHEDULED


@dataclass(frozen=True, slots=True)
class MessageProgress:
    """What a message item records about its recipients; enough to derive every counter
    and the aggregate without reading recipient rows.

    ``delivered``/``failed`` only change together with a recipient row, in one transaction.
    ``released`` is False for a scheduled occurrence not yet due; ``started`` turns True
    when dispatch claims the first recipient; ``handed_off_chunks`` counts the chunks none
    of whose recipients still waits on us (every one handed off or terminal).
    """

    total: int
    delivered: int = 0
    failed: int = 0
    released: bool = True
    started: bool = False
    chunks: int = 1
    handed_off_chunks: int = 0

    @property
    def pending(self) -> int:
        """Every non-terminal recipient, whatever its tier (spec: status-endpoint)."""
        return self.total - self.delivered - self.failed

    @property
    def all_terminal(self) -> bool:
        return self.pending == 0


def aggregate_status(progress: MessageProgress) -> SmsStatus:
    """The message-level status, first rule that matches (DESIGN §3).

    1. all terminal → ``delivered`` if any delivered, else ``failed``;
    2. not yet released → ``scheduled``;
    3. no recipient picked up yet → ``pending``;
    4. every recipient handed off or terminal → ``sent``;
    5. otherwise → ``processing``.
    Every input only grows, so the result only moves forward.
    """
    if progress.all_terminal:
        return SmsStatus.DELIVERED if progress.delivered > 0 else SmsStatus.FAILED
    if not progress.released:
        return SmsStatus.SCHEDULED
    if not progress.started:
        return SmsStatus.PENDING
    if progress.handed_off_chunks >= progress.chunks:
        return SmsStatus.SENT
    return SmsStatus.PROCESSING


def aggregate_of_recipients(statuses: list[SmsStatus], *, released: bool = True) -> SmsStatus:
    """The aggregate computed straight from recipient states: the reference the stored
    progress must agree with (used by tests and by repairs, never on a hot path)."""
    delivered = sum(1 for status in statuses if status.is_success)
    failed = sum(1 for status in statuses if status.is_terminal and not status.is_success)
    tiers = [status.tier or Tier.PENDING for status in statuses]
    progress = MessageProgress(
        total=len(statuses),
        delivered=delivered,
        failed=failed,
        # DESIGN §3 rule 2: a message whose recipients are all still scheduled is not released.
        released=released and not all(status is SmsStatus.SCHEDULED for status in statuses),
        started=any(tier >= Tier.PROCESSING for tier in tiers),
        chunks=1,
        handed_off_chunks=1 if all(tier >= Tier.HANDED_OFF for tier in tiers) else 0,
    )
    return aggregate_status(progress)


def message_error_code(progress: MessageProgress, failures: Mapping[int, int]) -> int | None:
    """The code a message carries as a whole: only once it is ``failed`` (every recipient
    final, none delivered), the most frequent of its recipients' error codes (the lowest code
    on a tie). A message with any delivered recipient is ``delivered`` and carries none."""
    if aggregate_status(progress) is not SmsStatus.FAILED or not failures:
        return None
    return min(failures, key=lambda code: (-failures[code], code))


def status_of_parts(delivered: int, failed: int, failure: SmsStatus | None = None) -> SmsStatus:
    """A multi-part recipient's final state once every part has reported: ``delivered``
    when all parts were, ``partially_delivered`` when some were and some were not, and
    otherwise the parts' failure state (the first one reported; ``undelivered`` if none)."""
    if failed == 0:
        return SmsStatus.DELIVERED
    if delivered > 0:
        return SmsStatus.PARTIALLY_DELIVERED
    if failure is not None and failure.is_terminal and not failure.is_success:
        return failure
    return SmsStatus.UNDELIVERED


def counter_delta(new: SmsStatus) -> tuple[int, int]:
    """(delivered, failed) increments when a non-terminal recipient moves to ``new``."""
    if not new.is_terminal:
        return (0, 0)
    return (1, 0) if new.is_success else (0, 1)
