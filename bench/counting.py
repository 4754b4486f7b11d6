"""Counting AWS requests and DynamoDB capacity units through botocore's event hooks.

The hooks are added to botocore's built-in handlers, so every session created afterwards
counts: boto3's default session (the repository's and queues' clients), and the sessions
Powertools creates for itself. Install before anything creates a client.

Per request: ``before-parameter-build`` keeps the API parameters (and, for DynamoDB writes,
reads each target item as it is before the write); ``after-call`` counts the request and,
for DynamoDB, computes the units from the parameters, the response and the item after the
write (``capacity``). Item states are read with ``read_item``, which must not count itself
(in-process moto: straight from its backend).

What is counted goes to every open :class:`Tally` (``with meter.tally() as t:``), so a
scenario sees exactly its own requests. Bench set-up runs under ``meter.paused()``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.handlers

from bench.capacity import (
    Item,
    TableShape,
    indexes_write_units,
    item_size,
    item_write_units,
    query_read_units,
    read_units,
    write_units,
)

if TYPE_CHECKING:
    import boto3

ItemReader = Callable[[str, Mapping[str, Any]], dict[str, Any] | None]
ShapeReader = Callable[[str], TableShape]

Target = tuple[str, tuple[str, ...]]  # (table, key values)

_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


@dataclass
class Tally:
    """What one scenario (or phase of one) cost."""

    requests: Counter[str] = field(default_factory=Counter)  # "dynamodb.PutItem" -> count
    write_units: float = 0.0  # table writes, transactional ones doubled
    index_write_units: float = 0.0  # global secondary index writes
    read_units: float = 0.0
    # Write units (table and index) by "operation caller": which layer function spent them.
    write_units_by: dict[str, float] = field(default_factory=dict)
    # Successful writes per item (table, key): how often one item was written.
    item_writes: Counter[tuple[str, tuple[str, ...]]] = field(default_factory=Counter)
    failed_conditions: int = 0
    invocations: Counter[str] = field(default_factory=Counter)  # Lambda function -> count
    api_requests: Counter[str] = field(default_factory=Counter)  # API Gateway route -> count
    carrier_calls: int = 0  # HTTP calls to the carrier (submit batches)
    # Seconds between before-call and after-call: signing, the endpoint's work, parsing.
    endpoint_seconds: float = 0.0

    @property
    def aws_requests(self) -> int:
        return sum(self.requests.values())

    def service_requests(self, service: str) -> int:
        return sum(count for name, count in self.requests.items() if name.split(".")[0] == service)

    @property
    def total_write_units(self) -> float:
        return self.write_units + self.index_write_units

    @property
    def lambda_invocations(self) -> int:
        return sum(self.invocations.values())

    def writes_to(self, table: str, key: tuple[str, ...]) -> int:
        return self.item_writes[(table, key)]


class AwsMeter:
    def __init__(self, read_item: ItemReader, table_shape: ShapeReader) -> None:
        self._read_item = read_item
        self._table_shape = table_shape
        self._shapes: dict[str, TableShape] = {}
        self._tallies: list[Tally] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self.installed = False

    # --- wiring -------------------------------------------------------------------------

    def _hooks(self) -> list[tuple[str, Callable[..., None]]]:
        return [("before-parameter-build", self._before), ("before-call", self._started), ("after-call", self._after)]

    def install(self) -> None:
        """Hooks every botocore session created from now on (and boto3's default, if made)."""
        if self.installed:
            return
        botocore.handlers.BUILTIN_HANDLERS.extend(self._hooks())
        import boto3

        if boto3.DEFAULT_SESSION is not None:
            for event, handler in self._hooks():
                boto3.DEFAULT_SESSION.events.register(event, handler)
        self.installed = True

    def uncounted_session(self) -> boto3.Session:
        """A new session whose requests are never counted (the hooks taken off it): for reads
        the bench makes that nobody bills, and Lambda's free stream reads."""
        import boto3

        session = boto3.Session()
        for event, handler in self._hooks():
            session.events.unregister(event, handler)
        return session

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Requests made in this thread meanwhile are not counted (bench set-up, stream reads)."""
        previous = getattr(self._local, "paused", False)
        self._local.paused = True
        try:
            yield
        finally:
            self._local.paused = previous

    @contextmanager
    def tally(self) -> Iterator[Tally]:
        tally = Tally()
        with self._lock:
            self._tallies.append(tally)
        try:
            yield tally
        finally:
            with self._lock:
                self._tallies.remove(tally)

    def add(self, update: Callable[[Tally], None]) -> None:
        """Records something the hooks cannot see (an invocation, an API request)."""
        with self._lock:
            for tally in self._tallies:
                update(tally)

    def shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            with self.paused():
                self._shapes[table] = self._table_shape(table)
        return self._shapes[table]

    # --- hooks --------------------------------------------------------------------------

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if getattr(self._local, "paused", False) or not self._tallies:
            context["bench_skip"] = True
            return
        context["bench_params"] = params
        context["bench_caller"] = _caller()
        if model.service_model.service_name == "dynamodb" and model.name in _WRITES:
            keys: dict[Target, dict[str, Any]] = {}
            targets = self._targets(model.name, params, keys)
            context["bench_keys"] = keys
            context["bench_before"] = {target: self._read_item(target[0], keys[target]) for target in targets}

    def _started(self, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if context.get("bench_skip") or "bench_params" not in context:
            return
        elapsed = time.perf_counter() - context.get("bench_started", time.perf_counter())
        service = model.service_model.service_name
        name = f"{service}.{model.name}"
        units = _Units()
        if service == "dynamodb":
            self._dynamodb_units(
                model.name,
                context["bench_params"],
                parsed,
                context.get("bench_before", {}),
                context.get("bench_keys", {}),
                units,
            )
        with self._lock:
            for tally in self._tallies:
                tally.requests[name] += 1
                tally.write_units += units.write
                tally.index_write_units += units.index_write
                tally.read_units += units.read
                if units.write or units.index_write:
                    caller = f"{name} ← {context.get('bench_caller', '?')}"
                    tally.write_units_by[caller] = (
                        tally.write_units_by.get(caller, 0.0) + units.write + units.index_write
                    )
                tally.failed_conditions += units.failed
                tally.endpoint_seconds += elapsed
                for item in units.written:
                    tally.item_writes[item] += 1

    # --- DynamoDB units -----------------------------------------------------------------

    def _target(self, table: str, item_or_key: Item, keys: dict[Target, dict[str, Any]]) -> Target:
        """(table, key values) for an item or key; ``keys`` keeps its typed key for reading."""
        shape = self.shape(table)
        target = (table, shape.key_of(item_or_key))
        keys[target] = {name: item_or_key[name] for name in shape.key_attributes}
        return target

    def _targets(self, operation: str, params: dict[str, Any], keys: dict[Target, dict[str, Any]]) -> list[Target]:
        if operation == "PutItem":
            return [self._target(params["TableName"], params["Item"], keys)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [self._target(params["TableName"], params["Key"], keys)]
        if operation == "BatchWriteItem":
            return [
                self._target(table, _batch_item(request), keys)
                for table, requests in params["RequestItems"].items()
                for request in requests
            ]
        targets = []
        for action in params["TransactItems"]:
            ((kind, body),) = action.items()
            targets.append(self._target(body["TableName"], body["Item"] if kind == "Put" else body["Key"], keys))
        return targets

    def _dynamodb_units(
        self,
        operation: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        before: dict[Target, dict[str, Any] | None],
        keys: dict[Target, dict[str, Any]],
        units: _Units,
    ) -> None:
        error = parsed.get("Error", {}).get("Code")
        if operation == "GetItem":
            units.read += read_units(item_size(parsed.get("Item")), consistent=bool(params.get("ConsistentRead")))
        elif operation in ("Query", "Scan"):
            units.read += query_read_units(parsed.get("Items", []), consistent=bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                consistent = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
                units.read += sum(read_units(item_size(item), consistent=consistent) for item in items)
        elif operation == "TransactGetItems":
            units.read += sum(
                2 * read_units(item_size(r.get("Item")), consistent=True) for r in parsed.get("Responses", [])
            )
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            ((target, old),) = before.items()
            if error == "ConditionalCheckFailedException":
                # A failed condition is still billed: the larger of the item there and the one offered.
                units.write += write_units(max(item_size(old), item_size(params.get("Item"))))
                units.failed += 1
            elif error is None:
                new = params["Item"] if operation == "PutItem" else self._after_state(operation, target, keys)
                self._write(target, old, new, units, transactional=False)
        elif operation == "BatchWriteItem":
            unprocessed = {
                self._target(table, _batch_item(request), keys)
                for table, requests in parsed.get("UnprocessedItems", {}).items()
                for request in requests
            }
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    new = request["PutRequest"]["Item"] if "PutRequest" in request else None
                    target = self._target(table, _batch_item(request), keys)
                    if target not in unprocessed:
                        self._write(target, before.get(target), new, units, transactional=False)
        elif operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                target = self._target(body["TableName"], body["Item"] if kind == "Put" else body["Key"], keys)
                old = before.get(target)
                if error is not None:
                    # Cancelled: every item was still prepared. Counted once, as a standard write.
                    units.write += write_units(max(item_size(old), item_size(body.get("Item"))))
                    continue
                if kind == "ConditionCheck":
                    units.write += 2 * write_units(item_size(old))
                    continue
                new = body["Item"] if kind == "Put" else self._after_state(kind + "Item", target, keys)
                self._write(target, old, new, units, transactional=True)
            if error is not None:
                units.failed += 1

    def _after_state(self, operation: str, target: Target, keys: dict[Target, dict[str, Any]]) -> dict[str, Any] | None:
        return None if operation == "DeleteItem" else self._read_item(target[0], keys[target])

    def _write(
        self,
        target: Target,
        old: Item | None,
        new: Item | None,
        units: _Units,
        *,
        transactional: bool,
    ) -> None:
        units.write += item_write_units(old, new, transactional=transactional)
        units.index_write += indexes_write_units(old, new, self.shape(target[0]))
        units.written.append(target)


@dataclass
class _Units:
    write: float = 0.0
    index_write: float = 0.0
    read: float = 0.0
    failed: int = 0
    written: list[Target] = field(default_factory=list)


def _caller() -> str:
    """The innermost function of the layer (``lisoloo``) on the stack: who made the request."""
    frame = sys._getframe(2)
    while frame is not None:
        if "/lisoloo/" in frame.f_code.co_filename and not frame.f_code.co_filename.endswith("storage.py"):
            return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "bench"


def _batch_item(request: Mapping[str, Any]) -> Item:
    """A BatchWriteItem request's item (put) or key (delete)."""
    put = request.get("PutRequest")
    item: Item = put["Item"] if put else request["DeleteRequest"]["Key"]
    return item
