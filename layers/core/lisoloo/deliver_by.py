"""Deliver-by (DESIGN §8), the rules: what a receipt or the deliver-by time does to a recipient
that may be sent twice, once through each of two carriers ("legs"). Pure: no I/O.

The rules the storage, the sweep (``sweeping``) and receipts (``applying``) follow, fixed and
tested on their own because "delivered wins" and "a final state absorbs later receipts" pull
against each other. The way out keeps counters exact:

* one recipient row, two carrier references (the first carrier's, and the fallback's);
* the row moves tier (and the message's counters with it) **once**: to ``delivered`` on the
  first ``delivered`` receipt from either leg, or to a failure only when no leg can still
  deliver (both legs reported a failure, or the first failed and no fallback can go);
* a failure receipt that does not end the recipient is noted on the row (like a part's
  outcome, ``record_part_outcome``), with no tier change, no counter, no event; the row as
  that write returns it is then ``settle``d, so two legs' failures noted at once still end it;
* a fallback the next carrier provably refused never went (``fallback_refused``): the first
  leg alone decides, as on a route with no next carrier;
* the deadline's 1503 still ends whatever is left, as for every recipient.

So the merchant sees one final state and one event per recipient, as without deliver-by; the
price is that a recipient whose first carrier reports a failure before its deliver-by time
stays ``sent`` until the fallback answers (at most ``deliver_within`` + the fallback's receipt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from lisoloo.status import SmsStatus, Tier

# The row's due kind while its deliver-by time is still to come (``entities.DueKind``).
ARMED = "deliver_by"


class Leg(StrEnum):
    FIRST = "first"
    FALLBACK = "fallback"


class Action(StrEnum):
    DELIVERED = "delivered"  # move the row to delivered (counters: pending -1, delivered +1)
    FAILED = "failed"  # move the row to the failure noted (counters: pending -1, failed +1)
    NOTE_FAILURE = "note_failure"  # note this leg's failure on the row; no move
    SEND_FALLBACK = "send_fallback"  # submit once more, through the next carrier of the route
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class LegsState:
    """What the row knows: whether it is final, whether the fallback went, each leg's failure if
    it reported one, and whether its deliver-by time has passed (after which, with no fallback
    sent, the first leg is the only one)."""

    final: bool = False
    fallback_sent: bool = False
    first_failure: SmsStatus | None = None
    fallback_failure: SmsStatus | None = None
    deliver_by_passed: bool = False

    def failure_of(self, leg: Leg) -> SmsStatus | None:
        return self.first_failure if leg is Leg.FIRST else self.fallback_failure


def on_receipt(state: LegsState, leg: Leg, status: SmsStatus) -> Action:
    """A final receipt from one leg."""
    if state.final or not status.is_terminal:
        return Action.NOTHING  # final absorbs; a non-final receipt is handled as today
    if leg is Leg.FALLBACK and not state.fallback_sent:
        return Action.NOTHING  # no such leg: not ours
    if status.is_success:
        return Action.DELIVERED  # delivered wins, from either leg
    if state.failure_of(leg) is not None:
        return Action.NOTHING  # the carrier said it again
    other = Leg.FALLBACK if leg is Leg.FIRST else Leg.FIRST
    if state.fallback_sent and state.failure_of(other) is not None:
        return Action.FAILED  # both legs failed: nothing can deliver it now
    if state.deliver_by_passed and not state.fallback_sent:
        return Action.FAILED  # no fallback went (none to go to): the first leg was the only one
    return Action.NOTE_FAILURE  # the other leg (sent, or still to go) may deliver it


def failure_to_write(state: LegsState, leg: Leg | None = None, status: SmsStatus | None = None) -> SmsStatus | None:
    """The failure a ``FAILED`` move writes: the first definitive one. For a move made by a
    leg's receipt (``leg``, ``status``), the other leg's failure noted before it, else its own;
    for one made by the deliver-by time or a refused fallback, the first leg's noted failure."""
    if leg is None:
        return state.first_failure
    return state.failure_of(Leg.FALLBACK if leg is Leg.FIRST else Leg.FIRST) or status


def at_deliver_by(state: LegsState, *, next_carrier: bool) -> Action:
    """The deliver-by time: no ``delivered`` yet → once more through the next carrier; with no
    next carrier, a failure already noted ends the recipient now."""
    if state.final or state.fallback_sent or state.deliver_by_passed:
        # Once per recipient: a redelivered sweep item, or a route that gained a carrier since
        # the time was handled, must not send a copy the rules already decided against.
        return Action.NOTHING
    if next_carrier:
        return Action.SEND_FALLBACK
    return Action.FAILED if state.first_failure is not None else Action.NOTHING


def on_fallback_refused(state: LegsState) -> Action:
    """The fallback carrier did not take it (and no other is left): the first leg decides."""
    if state.final:
        return Action.NOTHING
    return Action.FAILED if state.first_failure is not None else Action.NOTHING


def fallback_refused(state: LegsState) -> LegsState:
    """The state once the fallback carrier provably did not take it: that leg never went, so
    it cannot deliver and will never report. Left as "sent", a later failure from the first
    leg would only be noted, waiting for a fallback that does not exist, and the recipient
    would sit ``sent`` until the 24-hour deadline (1503 instead of the carrier's own failure)."""
    return replace(state, fallback_sent=False, fallback_failure=None, deliver_by_passed=True)


def settle(state: LegsState) -> Action:
    """Once a leg's failure is noted, on the row as written (the write returns it): ``FAILED``
    when no leg can still deliver. Two legs' failures applied at the same moment each read the
    other as not yet noted and only note their own; whichever write lands second sees both
    here, so the recipient still ends (the conditional tier write lets one of them move it)."""
    if state.final:
        return Action.NOTHING
    if state.fallback_sent and state.first_failure is not None and state.fallback_failure is not None:
        return Action.FAILED
    if state.deliver_by_passed and not state.fallback_sent and state.first_failure is not None:
        return Action.FAILED
    return Action.NOTHING


def after(state: LegsState, action: Action, leg: Leg | None = None, status: SmsStatus | None = None) -> LegsState:
    """The row's state once ``action`` is written (for tests and the sweep's bookkeeping)."""
    if action in (Action.DELIVERED, Action.FAILED):
        return replace(state, final=True)
    if action is Action.SEND_FALLBACK:
        return replace(state, fallback_sent=True)
    if action is Action.NOTE_FAILURE and leg is Leg.FIRST:
        return replace(state, first_failure=status)
    if action is Action.NOTE_FAILURE:
        return replace(state, fallback_failure=status)
    return state


def deliver_by_passed(state: LegsState) -> LegsState:
    """The state once the deliver-by time has been handled (whatever it did)."""
    return replace(state, deliver_by_passed=True)


def state_of(row: Mapping[str, Any]) -> LegsState:
    """A recipient row (plain values) as these rules see it. Its deliver-by time counts as
    passed unless armed and not yet handled: a row never armed (no ``deliver_within``, no next
    carrier, or several parts) has one leg, decided by its own receipts, as without deliver-by."""
    first, fallback = row.get("first_failure"), row.get("fallback_failure")
    return LegsState(
        final=int(row.get("tier", 0)) >= Tier.TERMINAL,
        fallback_sent=row.get("fallback_carrier") is not None,
        first_failure=SmsStatus(first) if first else None,
        fallback_failure=SmsStatus(fallback) if fallback else None,
        deliver_by_passed=row.get("due_kind") != ARMED,
    )


def leg_of(row: Mapping[str, Any], carrier: str) -> Leg | None:
    """Which leg a carrier's receipt speaks for; None: a carrier this recipient never went to."""
    if row.get("carrier") == carrier:
        return Leg.FIRST
    if row.get("fallback_carrier") == carrier:
        return Leg.FALLBACK
    return None


def failure_field(leg: Leg) -> str:
    """The row attribute a leg's noted failure is kept in."""
    return "first_failure" if leg is Leg.FIRST else "fallback_failure"
