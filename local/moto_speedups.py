"""Three changes to moto's DynamoDB: same results, less time. The bench installs all three;
the tests and the local stack only the first, which keeps big transactions from slowing down
as the table grows (receipt-apply writes 100 items a transaction).

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
  table on each query, seconds per query once the table holds 100,000 items.

* An item's attributes are stored without re-summing the item's size on every attribute
  (moto checks the 400 KB limit that way: quadratic in attributes, a millisecond an item).
  The bench's items are a few hundred bytes.

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
            matching = list(self.items.get(hash_key, {}).values())
        else:
            return original_query(self, *args, **kwargs)
        self.all_items = lambda: matching  # shadows the method for this one query
        try:
            return original_query(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    _installed.add("queries")


def skip_item_size_resumming() -> None:
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign]
