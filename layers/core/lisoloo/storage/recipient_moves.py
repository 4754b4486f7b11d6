"""Recipient moves that change their message's counters: receipts, the deadline's timeouts,
dispatch's failures (DESIGN §3, §4).

Every move is a conditional write guarded by the row's tier, so a late or duplicate report
cannot undo progress. Terminal moves commit in one transaction with the message item's
counters (the one write here that crosses aggregates, on purpose: the counters can then never
drift from the rows)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from lisoloo.entities import RecipientKey, Transition, TransitionOutcome
from lisoloo.errors import ErrorCode, StorageError
from lisoloo.receipt_entities import PartProgress
from lisoloo.status import SmsStatus, Tier, goes_further
from lisoloo.storage import keys
from lisoloo.storage.due import DUE_ATTRIBUTES
from lisoloo.storage.message_index import number_attributes
from lisoloo.storage.table import ConditionFailed, Table, TransactionCancelled, from_item, timestamp

# The message item's count of failed recipients with one error code: ``failed_1400``...
FAILED_PREFIX = "failed_"
# A transaction holds at most 100 items: 99 recipients and the message they belong to.
RECIPIENTS_PER_TRANSACTION = 99


def transition_item(table: Table, transition: Transition) -> dict[str, Any]:
    """One recipient's move, as an item of a transaction."""
    key = transition.key
    tier = transition.status.tier
    if tier is None:
        raise ValueError(f"{transition.status} is not a state a recipient can move to")
    values: dict[str, Any] = {
        "status": transition.status.value,
        "tier": int(tier),
        "updated_at": timestamp(transition.at),
    }
    if transition.error_code is not None:
        values["error_code"] = int(transition.error_code)
        values["error_message"] = transition.error_code.name
    pk, sk = keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index)
    if transition.create:
        if transition.listed_as is not None:
            listing = transition.listed_as
            values.update(number_attributes(key.org_id, listing.number, key.message_id, listing.message_created_at))
        # Dispatch fails an unclaimed recipient (e.g. an invalid number) only once.
        return table.put_item({**values, "PK": pk, "SK": sk}, "attribute_not_exists(PK)", old_on_failure=True)
    names = {f"#{name}": name for name in values}
    expression_values = {f":{name}": value for name, value in values.items()}
    # Forward only (sideways inside handed-off); terminal absorbs duplicates and late receipts.
    condition = "attribute_exists(PK) AND #tier < :tier"
    if tier is Tier.HANDED_OFF:
        condition = "attribute_exists(PK) AND #tier <= :tier AND #status <> :status"
    if transition.carrier is not None:
        # A carrier can only report on recipients that were submitted through it (as their
        # first carrier, or as their deliver-by fallback).
        condition += " AND (#carrier = :carrier OR fallback_carrier = :carrier)"
        names["#carrier"] = "carrier"
        expression_values[":carrier"] = transition.carrier
    update = "SET " + ", ".join(f"#{name} = :{name}" for name in values)
    if tier is Tier.TERMINAL:
        update += f" REMOVE {DUE_ATTRIBUTES}"  # nothing left to retry
    return table.update_item(pk, sk, update, condition, names=names, values=expression_values, old_on_failure=True)


def counter_item(table: Table, transitions: Sequence[Transition]) -> dict[str, Any] | None:
    """The message's counters for a group of moves of its recipients (None: none is terminal):
    delivered, failed, and failed by error code (``failed_1503``...)."""
    delivered = sum(1 for transition in transitions if transition.status.is_success)
    failures = Counter(
        int(transition.error_code or ErrorCode.INTERNAL_FAILURE)
        for transition in transitions
        if transition.status.is_terminal and not transition.status.is_success
    )
    if not delivered and not failures:
        return None
    key = transitions[0].key
    latest = max(transition.at for transition in transitions)
    by_code = "".join(f", {FAILED_PREFIX}{code} :failed_{code}" for code in sorted(failures))
    return table.update_item(
        keys.message_pk(key.org_id, key.message_id),
        keys.META,
        f"ADD delivered :delivered, failed :failed{by_code} SET updated_at = :now",
        # The message must still exist: counters never resurrect a cancelled message.
        "attribute_exists(PK)",
        values={
            ":delivered": delivered,
            ":failed": sum(failures.values()),
            ":now": timestamp(latest),
            **{f":failed_{code}": count for code, count in failures.items()},
        },
    )


def one_move_each(transitions: Sequence[Transition], outcome: TransitionOutcome) -> list[Transition]:
    """A transaction may not touch an item twice, so of several moves for one recipient (a
    re-sent or out-of-order receipt in the same batch) only the one that goes furthest is
    kept; the others count as superseded."""
    furthest: dict[RecipientKey, Transition] = {}
    for transition in transitions:
        kept = furthest.get(transition.key)
        if kept is None or goes_further(transition.status, kept.status):
            if kept is not None:
                outcome.superseded.append(kept)
            furthest[transition.key] = transition
        else:
            outcome.superseded.append(transition)
    return list(furthest.values())


def part_progress(row: dict[str, Any], *, recorded: bool) -> PartProgress:
    failure = row.get("part_failure")
    return PartProgress(
        delivered=row.get("parts_delivered", 0),
        failed=row.get("parts_failed", 0),
        failure=SmsStatus(failure) if failure else None,
        recorded=recorded,
        segments=row.get("segments"),
    )


class RecipientMoves:
    """The moves of :class:`~lisoloo.storage.recipients.Recipients` that count on the message."""

    table: Table

    def apply_transitions(
        self, transitions: Sequence[Transition], *, keep_going: Callable[[], bool] | None = None
    ) -> TransitionOutcome:
        """Apply recipient moves, per message in transactions of ≤ 99 rows plus one counter
        update on the message: the counters move exactly when the rows do (one move per
        recipient: ``one_move_each``). ``keep_going`` is asked before each transaction; once
        it says no, the moves left are not tried (``deferred``)."""
        outcome = TransitionOutcome()
        by_message: dict[tuple[str, str], list[Transition]] = {}
        for transition in one_move_each(transitions, outcome):
            by_message.setdefault((transition.key.org_id, transition.key.message_id), []).append(transition)
        for group in by_message.values():
            for start in range(0, len(group), RECIPIENTS_PER_TRANSACTION):
                moves = group[start : start + RECIPIENTS_PER_TRANSACTION]
                if outcome.deferred or (keep_going is not None and not keep_going()):
                    outcome.deferred.extend(moves)
                    continue
                self._apply_group(moves, outcome)
        return outcome

    def _apply_group(self, group: list[Transition], outcome: TransitionOutcome) -> None:
        """One transaction; the moves whose condition failed are taken out (superseded, or
        missing) and the rest tried again, until it commits or nothing is left."""
        pending = list(group)
        while pending:
            items = [transition_item(self.table, transition) for transition in pending]
            message_update = counter_item(self.table, pending)
            if message_update is not None:
                items.append(message_update)
            try:
                self.table.transact(items)
            except TransactionCancelled as cancelled:
                if message_update is not None and cancelled.failed_condition(len(pending)):
                    # The message itself is gone (cancelled or expired): nothing to move.
                    outcome.missing.extend(pending)
                    return
                keep: list[Transition] = []
                for position, transition in enumerate(pending):
                    if not cancelled.failed_condition(position):
                        keep.append(transition)
                    elif transition.create or cancelled.reasons[position].get("Item"):
                        outcome.superseded.append(transition)
                    else:
                        outcome.missing.append(transition)
                if len(keep) == len(pending):
                    raise StorageError(
                        f"a transaction of {len(items)} moves was cancelled: {cancelled.codes}"
                    ) from None
                pending = keep
                continue
            outcome.applied.extend(pending)
            return

    def record_part_outcome(self, key: RecipientKey, carrier: str, part: str, status: SmsStatus) -> PartProgress | None:
        """Count one part's final outcome on the recipient row (each part once); the caller
        moves the recipient, through ``apply_transitions``, when every part has reported.
        None when the row is gone, already terminal, or not this carrier's."""
        if not status.is_terminal:
            raise ValueError(f"{status} is not a part's final outcome")
        delivered = 1 if status.is_success else 0
        update = "ADD part_ids :part, parts_delivered :delivered, parts_failed :failed"
        values: dict[str, Any] = {
            ":part": {part},
            ":part_id": part,
            ":delivered": delivered,
            ":failed": 1 - delivered,
            ":terminal": int(Tier.TERMINAL),
            ":carrier": carrier,
        }
        if not delivered:
            update += " SET part_failure = if_not_exists(part_failure, :failure)"
            values[":failure"] = status.value
        try:
            attributes = self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                update,
                # Each part counts once (carriers re-send receipts), only while the recipient
                # is not final, and only for the carrier it was submitted through. ADD is
                # atomic, so of two last parts landing together exactly one sees them all.
                "attribute_exists(PK) AND #tier < :terminal AND #carrier = :carrier"
                " AND NOT contains(part_ids, :part_id)",
                returning="ALL_NEW",
                old_on_failure=True,
                names={"#tier": "tier", "#carrier": "carrier"},
                values=values,
            )
        except ConditionFailed as failed:
            if not failed.item:
                return None
            row = from_item(failed.item)
            if row.get("tier", 0) >= Tier.TERMINAL or row.get("carrier") != carrier:
                return None
            # A part already counted: report the progress so a final move a crash lost is redone.
            return part_progress(row, recorded=False)
        return part_progress(from_item(attributes), recorded=True)
