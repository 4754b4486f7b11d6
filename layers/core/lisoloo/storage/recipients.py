"""Recipient rows: created when dispatch claims a recipient, moved forward by hand-offs,
retries, receipts and the deadline (DESIGN §3, §4).

Every move is a conditional write guarded by the row's tier, so a late or duplicate report
cannot undo progress. Terminal moves change the message's counters, so they commit in one
transaction with the message item (the one write here that crosses aggregates, on purpose:
the counters can then never drift from the rows).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from lisoloo.entities import (
    RECIPIENTS_PER_CHUNK,
    Audience,
    ChunkWork,
    DueKind,
    MessageRecord,
    NumberListing,
    PartProgress,
    RecipientKey,
    RecipientRecord,
    Transition,
    TransitionOutcome,
)
from lisoloo.errors import ErrorCode, StorageError
from lisoloo.status import SmsStatus, Tier, goes_further
from lisoloo.storage import keys
from lisoloo.storage.due import DUE_ATTRIBUTES, due_values
from lisoloo.storage.message_index import number_attributes
from lisoloo.storage.table import (
    ConditionFailed,
    Item,
    Table,
    TransactionCancelled,
    epoch_seconds,
    from_item,
    parse_timestamp,
    timestamp,
    wire_integer,
    wire_string,
)
from lisoloo.templating import vars_json

# The message item's count of failed recipients with one error code: ``failed_1400``...
FAILED_PREFIX = "failed_"
# A transaction holds at most 100 items: 99 recipients and the message they belong to.
RECIPIENTS_PER_TRANSACTION = 99
# A chunk's numbers are E.164 (never spaced), kept as one string joined by this.
CHUNK_SEPARATOR = " "


def chunk_items(pk: str, recipients: Sequence[str] | Audience, expires_at: datetime) -> Iterator[dict[str, Any]]:
    """A partition's numbers (a message's, or a schedule's until release), RECIPIENTS_PER_CHUNK
    an item; with a personal text, each number's variables beside them."""
    audience = recipients if isinstance(recipients, Audience) else Audience(recipients)
    numbers = audience.numbers
    for chunk, start in enumerate(range(0, len(numbers), RECIPIENTS_PER_CHUNK)):
        end = start + RECIPIENTS_PER_CHUNK
        item = {
            "PK": pk,
            "SK": keys.chunk_sk(chunk),
            # One string, not a list: a list of 100 strings costs botocore validation and
            # serialization per element, which made POST /send of 10,000 numbers slow.
            "numbers": CHUNK_SEPARATOR.join(numbers[start:end]),
            "expires_at": epoch_seconds(expires_at),
        }
        if audience.variables is not None:
            # One JSON string for the same reason. Each recipient's is at most
            # MAX_VARS_JSON_BYTES (3,000): 100 of them stay under the 400 KB item limit.
            item["vars"] = "[" + ",".join(vars_json(values) for values in audience.variables[start:end]) + "]"
        yield item


def chunk_variables(item: Item) -> list[dict[str, str]] | None:
    """A chunk item's per-recipient variables, in number order; None for one text for all."""
    value = item.get("vars")
    if value is None:
        return None
    loaded: list[dict[str, str]] = json.loads(value["S"])
    return loaded


def chunk_audience(items: Iterable[Item]) -> Audience:
    """The numbers and variables of a partition's chunk items (read in key order)."""
    numbers: list[str] = []
    variables: list[Mapping[str, str]] = []
    personal = False
    for item in items:
        chunk = chunk_numbers(item)
        numbers += chunk
        values = chunk_variables(item)
        personal = personal or values is not None
        variables += values if values is not None else [{}] * len(chunk)
    return Audience(numbers, variables if personal else None)


def chunk_numbers(item: Item) -> list[str]:
    """A chunk item's numbers: one space-separated string (numbers are E.164, never spaced);
    chunks written before that are lists."""
    value = item["numbers"]
    return value["S"].split(CHUNK_SEPARATOR) if "S" in value else [entry["S"] for entry in value["L"]]


def recipient_from_item(item: Item) -> RecipientRecord:
    # Read straight from the wire form: a status page reads a hundred of these, and the
    # generic deserializer (a Decimal per number) was most of the page's own time.
    return RecipientRecord(
        index=keys.index_of_recipient_sk(item["SK"]["S"]),
        status=SmsStatus(item["status"]["S"]),
        updated_at=parse_timestamp(item["updated_at"]["S"]),
        error_code=wire_integer(item, "error_code"),
        error_message=wire_string(item, "error_message"),
        carrier_ref=wire_string(item, "carrier_ref"),
        carrier=wire_string(item, "carrier"),
        attempts=wire_integer(item, "attempts") or 1,
        handed_off_at=_wire_timestamp(item, "handed_off_at"),
        retry_due_at=_wire_timestamp(item, "due_at") if wire_string(item, "due_kind") == DueKind.RETRY else None,
        retry_carrier=wire_string(item, "retry_carrier"),
        segments=wire_integer(item, "segments"),
        fallback_carrier=wire_string(item, "fallback_carrier"),
        fallback_at=_wire_timestamp(item, "fallback_at"),
    )


def _wire_timestamp(item: Item, name: str) -> datetime | None:
    value = wire_string(item, name)
    return parse_timestamp(value) if value is not None else None


def numbers_and_rows(items: Iterable[Item]) -> tuple[dict[int, str], dict[int, RecipientRecord]]:
    """A partition's chunk items and recipient rows, read together: numbers and rows by index."""
    numbers: dict[int, str] = {}
    rows: dict[int, RecipientRecord] = {}
    for item in items:
        sort_key = item["SK"]["S"]
        if keys.is_recipient_sk(sort_key):
            row = recipient_from_item(item)
            rows[row.index] = row
        else:
            base = keys.chunk_of_sk(sort_key) * RECIPIENTS_PER_CHUNK
            for offset, number in enumerate(chunk_numbers(item)):
                numbers[base + offset] = number
    return numbers, rows


def claimed_row(
    key: RecipientKey, carrier: str, now: datetime, listing: NumberListing, segments: int | None = None
) -> dict[str, Any]:
    """A recipient row as dispatch creates it: claimed, ``processing``, filed under its number;
    with a personal text, the parts of its own text (what its part receipts are counted to)."""
    parts = {"segments": segments} if segments is not None else {}
    return {
        **parts,
        **_number_attributes(key, listing),
        "PK": keys.message_pk(key.org_id, key.message_id),
        "SK": keys.recipient_sk(key.index),
        "status": SmsStatus.PROCESSING.value,
        "tier": int(Tier.PROCESSING),
        "carrier": carrier,
        "attempts": 1,
        "claimed_at": timestamp(now),
        "updated_at": timestamp(now),
    }


def _number_attributes(key: RecipientKey, listing: NumberListing) -> dict[str, Any]:
    return number_attributes(key.org_id, listing.number, key.message_id, listing.message_created_at)


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
            values.update(_number_attributes(key, transition.listed_as))
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


class Recipients:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- reads --------------------------------------------------------------------------------

    def get(self, key: RecipientKey) -> RecipientRecord | None:
        item = self.table.get(keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index))
        return recipient_from_item(item) if item else None

    def read_chunk(self, message: MessageRecord, chunk: int) -> ChunkWork:
        """What dispatch needs for one chunk of ``message``: its numbers and any rows already
        claimed, in one Query (rows sort under their chunk)."""
        pk = keys.message_pk(message.org_id, message.message_id)
        items = list(self.table.query_between(pk, keys.chunk_sk(chunk), keys.chunk_rows_high(chunk)))
        numbers, rows = numbers_and_rows(items)
        first = chunk * RECIPIENTS_PER_CHUNK
        variables = next((chunk_variables(item) for item in items if not keys.is_recipient_sk(item["SK"]["S"])), None)
        return ChunkWork(
            message=message,
            numbers=[numbers[index] for index in sorted(numbers)],
            first_index=first,
            rows=rows,
            variables=variables,
        )

    def numbers_of(self, recipients: Iterable[RecipientKey]) -> dict[RecipientKey, str]:
        """The numbers of the recipients named, from their chunk items: one BatchGetItem per
        100 chunks (a chunk holds 100 numbers)."""
        wanted = list(recipients)
        chunks = {(keys.message_pk(key.org_id, key.message_id), keys.chunk_sk(key.chunk)) for key in wanted}
        numbers: dict[tuple[str, int], str] = {}
        for item in self.table.batch_get(chunks, attributes=("numbers",)):
            base = keys.chunk_of_sk(item["SK"]["S"]) * RECIPIENTS_PER_CHUNK
            for offset, number in enumerate(chunk_numbers(item)):
                numbers[(item["PK"]["S"], base + offset)] = number
        found: dict[RecipientKey, str] = {}
        for key in wanted:
            where = (keys.message_pk(key.org_id, key.message_id), key.index)
            if where in numbers:
                found[key] = numbers[where]
        return found

    def handoffs_of(self, recipients: Iterable[RecipientKey]) -> dict[RecipientKey, tuple[str, datetime]]:
        """The carrier that took each recipient named, and when: only rows handed off (one
        BatchGetItem per 100)."""
        wanted = {
            (keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index)): key for key in recipients
        }
        found: dict[RecipientKey, tuple[str, datetime]] = {}
        for item in self.table.batch_get(wanted, attributes=("carrier", "handed_off_at")):
            carrier, handed_off_at = wire_string(item, "carrier"), _wire_timestamp(item, "handed_off_at")
            if carrier is not None and handed_off_at is not None:
                found[wanted[(item["PK"]["S"], item["SK"]["S"])]] = (carrier, handed_off_at)
        return found

    def read_all(self, org_id: str, message_id: str) -> tuple[list[str], dict[int, RecipientRecord]]:
        """Every number and every claimed row of a message (the deadline needs them all)."""
        items = self.table.query_between(keys.message_pk(org_id, message_id), keys.CHUNKS_LOW, keys.CHUNKS_HIGH)
        numbers, rows = numbers_and_rows(items)
        return [numbers[index] for index in sorted(numbers)], rows

    # --- dispatch -----------------------------------------------------------------------------

    def claim(
        self,
        key: RecipientKey,
        carrier: str,
        now: datetime,
        stale_after: timedelta,
        listing: NumberListing,
        *,
        segments: int | None = None,
    ) -> bool:
        """Create the recipient row in ``processing``: creation and claim in one write. A
        redelivered job can only take over a claim that was never recorded as submitted and
        is older than ``stale_after`` (longer than a dispatch run), so no two runs submit it."""
        try:
            self.table.put(
                claimed_row(key, carrier, now, listing, segments),
                "attribute_not_exists(PK) OR (#status = :processing AND attribute_not_exists(carrier_ref)"
                " AND attribute_not_exists(due_at) AND claimed_at < :stale)",
                names={"#status": "status"},
                values={":processing": SmsStatus.PROCESSING.value, ":stale": timestamp(now - stale_after)},
            )
        except ConditionFailed:
            return False
        return True

    def record_handoff(
        self,
        key: RecipientKey,
        carrier_ref: str,
        now: datetime,
        carrier: str | None = None,
        *,
        deliver_by_at: datetime | None = None,
    ) -> bool:
        """The carrier accepted the recipient: ``processing → sent`` with its reference, and
        the carrier that took it (in the same write: routing costs no write of its own). A
        receipt may have outrun this write (SMPP race), so it only applies below tier 3.
        ``deliver_by_at``: deliver-by is armed, its due item written in this same write (the
        retry's due attributes it replaces are the ones this write otherwise removes)."""
        took = ", carrier = :carrier" if carrier is not None else ""
        values: dict[str, Any] = {
            ":sent": SmsStatus.SENT.value,
            ":tier": int(Tier.HANDED_OFF),
            ":ref": carrier_ref,
            ":now": timestamp(now),
            **({":carrier": carrier} if carrier is not None else {}),
        }
        if deliver_by_at is None:
            due = f" REMOVE {DUE_ATTRIBUTES}, retry_carrier"
        else:
            armed = due_values(keys.message_pk(key.org_id, key.message_id), deliver_by_at, DueKind.DELIVER_BY)
            due = ", due_shard = :shard, due_at = :due, due_kind = :kind REMOVE retry_carrier"
            values.update({":shard": armed["due_shard"], ":due": armed["due_at"], ":kind": armed["due_kind"]})
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET #status = :sent, #tier = :tier, carrier_ref = :ref, updated_at = :now, handed_off_at = :now{took}"
                + due,
                "attribute_exists(PK) AND #tier < :tier",
                names={"#status": "status", "#tier": "tier"},
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    # --- deliver-by (DESIGN §8): a second leg through the next carrier --------------------------

    def legs_row(self, key: RecipientKey) -> dict[str, Any] | None:
        """The row as deliver-by's rules read it (strongly consistent: a leg's note or the
        fallback's claim may have been written a moment ago)."""
        item = self.table.get(
            keys.message_pk(key.org_id, key.message_id), keys.recipient_sk(key.index), consistent=True
        )
        return from_item(item) if item else None

    def claim_fallback(self, key: RecipientKey, carrier: str, lease: str, now: datetime) -> bool:
        """Before the fallback's submit: the carrier it goes to (so that carrier's receipts,
        even one outrunning the submit's answer, find the recipient), and out of the due index
        in the same write. At most once: a redelivered sweep item, or a crash after this
        write, never submits a second fallback."""
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET fallback_carrier = :carrier, fallback_at = :now REMOVE {DUE_ATTRIBUTES}",
                # Our lease on the deliver-by item, the recipient not final, no fallback yet.
                "due_at = :lease AND #tier < :terminal AND attribute_not_exists(fallback_carrier)",
                names={"#tier": "tier"},
                values={
                    ":carrier": carrier,
                    ":now": timestamp(now),
                    ":lease": lease,
                    ":terminal": int(Tier.TERMINAL),
                },
            )
        except ConditionFailed:
            return False
        return True

    def record_fallback(self, key: RecipientKey, carrier: str, carrier_ref: str) -> None:
        """The fallback carrier took it: its reference, beside the first carrier's."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "SET fallback_ref = :ref",
                # Only the fallback claimed for this carrier (a refusal may have undone it).
                "fallback_carrier = :carrier",
                values={":ref": carrier_ref, ":carrier": carrier},
            )

    def drop_fallback(self, key: RecipientKey, carrier: str) -> dict[str, Any] | None:
        """The fallback carrier provably did not take it: that leg never went (the first
        decides alone). The row as written, for the rules to settle; None if it changed."""
        try:
            attributes = self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "REMOVE fallback_carrier, fallback_failure SET fallback_refused = :carrier",
                "fallback_carrier = :carrier AND attribute_not_exists(fallback_ref)",
                values={":carrier": carrier},
                returning="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return from_item(attributes)

    def note_leg_failure(
        self, key: RecipientKey, carrier: str, leg_field: str, status: SmsStatus
    ) -> dict[str, Any] | None:
        """A leg's failure that does not end the recipient: noted on the row, no tier, no
        counter, no event. The row as written (for ``deliver_by.settle``); None when the row is
        final or the carrier is no longer that leg's."""
        carrier_field = "carrier" if leg_field == "first_failure" else "fallback_carrier"
        try:
            attributes = self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                f"SET {leg_field} = if_not_exists({leg_field}, :status)",
                # Not final, and still this carrier's leg: a late receipt changes nothing.
                f"#tier < :terminal AND {carrier_field} = :carrier",
                names={"#tier": "tier"},
                values={":status": status.value, ":terminal": int(Tier.TERMINAL), ":carrier": carrier},
                returning="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return from_item(attributes)

    def schedule_retry(
        self, key: RecipientKey, attempts: int, retry_at: datetime, *, only_carrier: str | None = None
    ) -> None:
        """A transient carrier failure: the recipient stays ``processing`` (no event fires) and
        waits in the due index for its next attempt; ``only_carrier`` pins that attempt to the
        carrier whose answer was uncertain (it may hold the message already)."""
        pk = keys.message_pk(key.org_id, key.message_id)
        due = due_values(pk, retry_at, DueKind.RETRY)
        pin = "SET retry_carrier = :pin, carrier = :pin," if only_carrier else "REMOVE retry_carrier SET"
        with suppress(ConditionFailed):
            self.table.update(
                pk,
                keys.recipient_sk(key.index),
                f"{pin} attempts = :attempts, due_shard = :shard, due_at = :due, due_kind = :kind",
                # Only a recipient still ours: a receipt or the deadline may have finished it.
                "#status = :processing AND attribute_not_exists(carrier_ref)",
                names={"#status": "status"},
                values={
                    ":attempts": attempts,
                    ":shard": due["due_shard"],
                    ":due": due["due_at"],
                    ":kind": due["due_kind"],
                    ":processing": SmsStatus.PROCESSING.value,
                    **({":pin": only_carrier} if only_carrier else {}),
                },
            )

    def reassign(self, key: RecipientKey, carrier: str, now: datetime) -> bool:
        """Fail-over: the recipient is about to go to ``carrier`` after its previous carrier
        provably did not take it. Written before the submit, so a receipt from the new carrier
        that outruns the submit reply (SMPP race) finds its carrier on the row."""
        try:
            self.table.update(
                keys.message_pk(key.org_id, key.message_id),
                keys.recipient_sk(key.index),
                "SET carrier = :carrier, updated_at = :now",
                # Only while still ours to submit: not handed off, not finished.
                "#status = :processing AND attribute_not_exists(carrier_ref)",
                names={"#status": "status"},
                values={":carrier": carrier, ":now": timestamp(now), ":processing": SmsStatus.PROCESSING.value},
            )
        except ConditionFailed:
            return False
        return True

    # --- moves with the message's counters -----------------------------------------------------

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
