"""Four changes to moto: same results, less time. The bench installs all four; the tests and
the local stack the first (which keeps big transactions from slowing down as the table grows:
receipt-apply writes 100 items a transaction) and the last.

* Transactions back up the items they touch instead of deep-copying every table they name.
  moto 5.2's ``transact_write_items`` deep-copies the whole table before each transaction so
  it can roll back: ~0.3 s a transaction once the table holds tens of thousands of items, which
  would make a 10,000-recipient lifecycle take hours (once per item of the transaction, too).
  Here, on cancellation, the touched items (and the stream records the transaction appended)
  are put back exactly as they were. Every read and write holds one lock, which also fixes a
  race of moto's own under its threaded server: restoring a whole-table snapshot undid other
  requests' writes made meanwhile (the local stack lost chunks and claims under load).
* A query starts from the items of its partition (of the table, or carrying the index's
  partition key value) instead of from the whole table, sorted: moto sorts every item of the
  table on each query, seconds per query once the table holds 100,000 items. A table query's
  BETWEEN / BEGINS_WITH sort-key range is applied first, too: moto computes the size of every
  item of the partition before it compares the key, so a 100-recipient status page of a
  10,000-recipient message cost as much as reading all 10,000.

* An item's attributes are stored without re-summing the item's size on every attribute
  (moto checks the 400 KB limit that way: quadratic in attributes, a millisecond an item).
  The bench's items are a few hundred bytes.

* SQS walks a queue's messages once per call, not once per message. moto builds the whole
  attribute map (which counts in-flight and delayed messages one by one) to read one attribute
  on every send and on every message received, reads the clock twice per queued message to list
  the visible ones, and looks a receipt handle up by building a list per queued message. Each
  cost time in proportion to the queue's depth, per message: quadratic as 10,000 receipts queue
  up (100 s to drain them). Here the one attribute is read directly, the clock once per call,
  and the handle compared in place.

* A DynamoDB attribute value that is already in its wire form (a string, number, boolean, null
  or string/number set) is written to the response as it is. moto's generic serializer walks
  all ten members of the AttributeValue shape for each attribute of each item returned: most of
  a 100-recipient status page's time in moto (~100 ms for its ~900 values), where DynamoDB's
  does not grow with the page.

Nothing the bench counts depends on any of them: counting happens in botocore, on the requests.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_installed: set[str] = set()


def install() -> None:
    back_up_only_touched_items()
    query_within_partition()
    skip_item_size_resumming()
    sqs_reads_queue_once()
    attribute_values_as_they_are()


def back_up_only_touched_items() -> None:
    if "transactions" in _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def _deepcopy_but_tables(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    shim = types.SimpleNamespace(deepcopy=_deepcopy_but_tables, copy=copy.copy)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            _, operation = next(iter(entry.items()))
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            key = operation.get("Item") or operation.get("Key") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            current = table.get_item(hash_value, range_value) if (range_value or not table.range_key_attr) else None
            backups.append((table, hash_value, range_value, copy.deepcopy(current)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(backups):
                bucket = table.items[hash_value] if range_value is not None else table.items
                slot = range_value if range_value is not None else hash_value
                if item is None:
                    bucket.pop(slot, None)
                else:
                    bucket[slot] = item
            for shard, length in streams.values():
                del shard.items[length:]  # exact: no other request wrote meanwhile (the lock)
            raise

    # For good, not per call: moto serves requests on many threads. The module's only other
    # deepcopy is of an item, which the shim still copies.
    models.copy = shim  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    # moto's server answers on many threads and applies a transaction item by item: one lock
    # over every read and write makes a transaction atomic and isolated, as in DynamoDB, and
    # makes the rollback above exact (no other request can have written meanwhile).
    one_at_a_time = threading.RLock()
    for name in _READS_AND_WRITES:
        setattr(models.DynamoDBBackend, name, _holding(one_at_a_time, getattr(models.DynamoDBBackend, name)))
    _installed.add("transactions")


_READS_AND_WRITES = (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
)


def _holding(lock: Any, method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return locked


def query_within_partition() -> None:
    if "queries" in _installed:
        return
    from moto.dynamodb.models.table import Table

    original_query = Table.query

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        hash_key = args[0] if args else kwargs.get("hash_key")
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions")
        if index_name and conditions:
            # Plain (type, value) comparisons: DynamoType's own equality casts values, slowly.
            wanted = [(name, value.type, value.value) for name, value in conditions]
            matching = [
                item
                for bucket in self.items.values()
                for item in (bucket.values() if self.range_key_attr else [bucket])
                if all(
                    (found := item.attrs.get(name)) is not None and found.value == raw and found.type == kind
                    for name, kind, raw in wanted
                )
            ]
        elif not index_name and hash_key is not None and self.range_key_attr:
            range_comparison = args[1] if len(args) > 1 else kwargs.get("range_comparison")
            range_values = args[2] if len(args) > 2 else kwargs.get("range_objs")
            matching = _within_sort_key_range(
                list(self.items.get(hash_key, {}).values()), range_comparison, range_values or []
            )
        else:
            return original_query(self, *args, **kwargs)
        self.all_items = lambda: matching  # shadows the method for this one query
        try:
            return original_query(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    _installed.add("queries")


def _within_sort_key_range(items: list[Any], comparison: str | None, bounds: list[Any]) -> list[Any]:
    """The items whose string sort key is in a BETWEEN or BEGINS_WITH range, compared as plain
    strings: moto would size up every item of the partition before comparing its key."""
    if not bounds or any(bound.type != "S" for bound in bounds):
        return items
    if comparison == "BETWEEN" and len(bounds) == 2:
        low, high = bounds[0].value, bounds[1].value
        return [item for item in items if item.range_key.type == "S" and low <= item.range_key.value <= high]
    if comparison == "BEGINS_WITH" and len(bounds) == 1:
        prefix = bounds[0].value
        return [item for item in items if item.range_key.type == "S" and item.range_key.value.startswith(prefix)]
    return items


def skip_item_size_resumming() -> None:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]


def sqs_reads_queue_once() -> None:
    if "sends" in _installed:
        return
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Queue, SQSBackend

    original: Any = SQSBackend.send_message  # called with a stand-in for the backend

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        return original(_BackendWithCheapQueueAttributes(self), queue_name, *args, **kwargs)

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()  # moto's Message.visible and .delayed each read it again
        return [message for message in self._messages if now > message.visible_at and not now < message.delayed_until]

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: deleting again is fine
        deleted = [
            message
            for message in self._messages
            if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles
        ]
        if not deleted:
            raise ReceiptHandleIsInvalid()
        for message in deleted:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            self._messages.remove(message)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    Queue.messages = property(messages)  # type: ignore[method-assign,assignment]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    _installed.add("sends")


class _BackendWithCheapQueueAttributes:
    """The SQS backend, except that its queues answer ``attributes`` with the one send reads."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def get_queue(self, queue_name: str) -> Any:
        return _QueueWithCheapAttributes(self._backend.get_queue(queue_name))


class _QueueWithCheapAttributes:
    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    @property
    def attributes(self) -> dict[str, str]:
        return {"ContentBasedDeduplication": str(bool(self._queue.content_based_deduplication)).lower()}


# Wire-form attribute values whose members moto's serializer would copy unchanged.
_PLAIN_ATTRIBUTE_VALUES = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_PLAIN_SETS = ("SS", "NS")


def attribute_values_as_they_are() -> None:
    if "attribute values" in _installed:
        return
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and key and _is_plain_attribute_value(value):
            self._default_serialize(serialized, value, shape, key)
            return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    _installed.add("attribute values")


def _is_plain_attribute_value(value: Any) -> bool:
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, content),) = value.items()
    if kind in _PLAIN_SETS:
        return type(content) is list and all(type(element) is str for element in content)
    expected = _PLAIN_ATTRIBUTE_VALUES.get(kind)
    return expected is not None and type(content) is expected
