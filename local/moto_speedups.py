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

import collections
import copy
import functools
import importlib
import json
import re
import threading
import time
import types
from typing import Any

_installed: set[str] = set()


def install() -> None:
    back_up_only_touched_items()
    query_within_partition()
    skip_item_size_resumming()
    sqs_reads_queue_once()
    attribute_values_as_they_are()
    expressions_parsed_once()
    simple_updates_applied_directly()


def simple_updates_applied_directly() -> None:
    """An UpdateExpression that only SETs top-level attributes to values, REMOVEs them or ADDs
    a number or a set to one (every write of ours) is applied as it reads, without moto's ten
    passes over its syntax tree (most of an UpdateItem's time in moto). Whatever those passes
    would refuse (a second clause of a kind, a path twice, a key attribute, a missing name or
    value, a type that does not match, an empty key value or set) and every other expression
    (functions, arithmetic, nested paths, DELETE) still goes through moto's own, which then
    answers as it always did."""
    if "simple updates" in _installed:
        return
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing import executors, validators
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    # A plain attribute name that is a reserved word is refused (moto's error, as DynamoDB's).
    reserved = frozenset(ReservedKeywords.get_reserved_keywords())

    # moto marks this module untyped ("# type: ignore" at its top): its classes are Any here.
    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")

    clauses = {
        ast_nodes.UpdateExpressionSetClause: "SET",
        ast_nodes.UpdateExpressionRemoveClause: "REMOVE",
        ast_nodes.UpdateExpressionAddClause: "ADD",
    }
    containers = (
        ast_nodes.UpdateExpression,
        ast_nodes.UpdateExpressionSetActions,
        ast_nodes.UpdateExpressionRemoveActions,
        ast_nodes.UpdateExpressionAddActions,
    )

    class NotSimple(Exception):
        pass

    class SimpleUpdate:
        """What a simple expression does, resolved: (action, attribute, value or None)."""

        def __init__(self, actions: list[tuple[str, str, dict[str, Any] | None]]) -> None:
            self.actions = actions

        def normalize(self) -> None:  # update_item normalises the validated tree; nothing to do
            pass

    def name_of(path: Any, names: dict[str, str]) -> tuple[str, str]:
        """(as written, resolved) for a path that is one top-level attribute."""
        if type(path) is not ast_nodes.UpdateExpressionPath or len(path.children) != 1:
            raise NotSimple
        element = path.children[0]
        raw = element.children[0]
        if type(element) is ast_nodes.ExpressionAttribute and raw.upper() not in reserved:
            return raw, raw
        if type(element) is ast_nodes.ExpressionAttributeName and raw in names:
            return raw, names[raw]
        raise NotSimple

    def value_of(node: Any, values: dict[str, Any]) -> dict[str, Any]:
        if type(node) is ast_nodes.UpdateExpressionValue and len(node.children) == 1:
            node = node.children[0]
        if type(node) is not ast_nodes.ExpressionAttributeValue or node.children[0] not in values:
            raise NotSimple
        value: dict[str, Any] = values[node.children[0]]
        (kind, content), *_ = value.items()
        if kind in ("SS", "NS", "BS") and not content:
            raise NotSimple  # an empty set: moto's error
        return value

    def plan(validator: Any) -> SimpleUpdate:
        names = validator.expression_attribute_names or {}
        values = validator.expression_attribute_values or {}
        table, item = validator.table, validator.item
        seen: dict[str, int] = {}
        actions: list[tuple[str, str, dict[str, Any] | None]] = []

        def walk(node: Any) -> None:
            kind = type(node)
            if kind in clauses:
                seen[clauses[kind]] = seen.get(clauses[kind], 0) + 1
            if kind in clauses or kind in containers:
                for child in node.children:
                    walk(child)
            elif kind is ast_nodes.UpdateExpressionSetAction:
                raw, name = name_of(node.children[0], names)
                value = value_of(node.children[1], values)
                (value_type, content), *_ = value.items()
                if any(d["AttributeName"] == raw and d["AttributeType"] != value_type for d in table.attr):
                    raise NotSimple
                if value_type in ("S", "B") and not content and raw in table.attribute_keys:
                    raise NotSimple
                actions.append(("SET", name, value))
            elif kind is ast_nodes.UpdateExpressionRemoveAction:
                actions.append(("REMOVE", name_of(node.children[0], names)[1], None))
            elif kind is ast_nodes.UpdateExpressionAddAction:
                name = name_of(node.children[0], names)[1]
                value = value_of(node.children[1], values)
                (value_type, _), *_ = value.items()
                existing = item.attrs.get(name) if item is not None else None
                if value_type not in ("N", "SS", "NS", "BS") or (existing is not None and existing.type != value_type):
                    raise NotSimple
                actions.append(("ADD", name, value))
            else:
                raise NotSimple

        walk(validator.node_to_validate)
        attributes = [name for _, name, _ in actions]
        if any(count > 1 for count in seen.values()) or len(set(attributes)) != len(attributes):
            raise NotSimple
        if set(attributes) & set(table.table_key_attrs):
            raise NotSimple
        return SimpleUpdate(actions)

    original_validate = validators.UpdateExpressionValidator.validate
    original_execute = executors.UpdateExpressionExecutor.execute

    def validate(self: Any) -> Any:
        try:
            return plan(self)
        except NotSimple:
            return original_validate(self)

    def execute(self: Any, node: Any = None) -> None:
        update = self.update_ast
        if node is not None or not isinstance(update, SimpleUpdate):
            return original_execute(self, node)
        attrs = self.item.attrs
        for action, name, value in update.actions:
            if value is None:  # REMOVE: the only action without a value
                attrs.pop(name, None)
            elif action == "SET":
                attrs[name] = DynamoType(value)
            elif "N" in value:
                attrs[name] = attrs.get(name, DynamoType({"N": "0"})) + DynamoType(value)
            else:
                current = attrs.get(name)
                if current is None:
                    current = attrs[name] = DynamoType({next(iter(value)): []})
                for element in DynamoType(value).value:
                    if element not in current.value:
                        current.value.append(element)
        return None

    validators.UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]
    executors.UpdateExpressionExecutor.execute = execute  # type: ignore[method-assign]
    _installed.add("simple updates")


def expressions_parsed_once() -> None:
    """An UpdateExpression is parsed once per distinct text, and a ConditionExpression's text is
    tokenised once: the same few expressions come with every write, and moto parsed each twice
    per request (its request checks, then the backend), a third of a write's time. The parse
    does not depend on the values: the update's syntax tree is copied by moto's validator
    before it is bound to them, and a condition's tokens are rebuilt fresh for each request. A
    syntax tree copies without the pickle protocol (``copy.deepcopy``'s default), like moto's
    own items do."""
    if "expressions" in _installed:
        return
    import copy as copy_module
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=1024)
    def parsed(expression: str) -> Any:
        return make(UpdateExpressionParser, expression)

    def cached_make(cls: Any, expression: str) -> Any:
        return parsed(expression)

    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=1024)
    def tokens(expression: str) -> tuple[tuple[Any, ...], ...]:
        lexer = ConditionExpressionParser(expression, None, None)
        return tuple((node.nonterminal, node.kind, node.text, node.value) for node in lex(lexer))

    def cached_lex(self: Any) -> Any:
        # Fresh nodes, each with a children list of its own: later stages build on them.
        return deque(
            ConditionExpressionParser.Node(nonterminal=nonterminal, kind=kind, text=text, value=value, children=[])
            for nonterminal, kind, text, value in tokens(self.condition_expression)
        )

    def node_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        result = object.__new__(type(self))
        memo[id(self)] = result
        for name, value in self.__dict__.items():
            result.__dict__[name] = (
                value if isinstance(value, str | int | float | None) else copy_module.deepcopy(value, memo)
            )
        return result

    original_parse = ConditionExpressionParser.parse
    placeholders = re.compile(r"[#:][A-Za-z0-9_-]+")
    parsed_conditions: collections.OrderedDict[Any, tuple[Any, list[str], list[str]]] = collections.OrderedDict()
    conditions_lock = threading.Lock()

    def cached_parse(self: Any) -> Any:
        # The same condition with the same names and the same values it refers to parses the
        # same: the other values of the request are not in the key (a timestamp's, say).
        expression = self.condition_expression
        if not expression:
            return original_parse(self)
        names, values = self.expression_attribute_names or {}, self.expression_attribute_values or {}
        try:
            key = (
                expression,
                tuple(
                    (
                        found,
                        names[found] if found[0] == "#" else json.dumps(values[found], sort_keys=True, default=repr),
                    )
                    for found in placeholders.findall(expression)
                ),
            )
        except KeyError:
            return original_parse(self)  # a name or value missing: moto's own error
        with conditions_lock:
            cached = parsed_conditions.get(key)
            if cached is not None:
                parsed_conditions.move_to_end(key)
        if cached is None:
            operation = original_parse(self)
            cached = (operation, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            with conditions_lock:
                parsed_conditions[key] = cached
                if len(parsed_conditions) > 4096:
                    parsed_conditions.popitem(last=False)
            return operation
        operation, names_found, values_found = cached
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return operation

    UpdateExpressionParser.make = classmethod(cached_make)
    ConditionExpressionParser._lex_condition_expression = cached_lex  # type: ignore[method-assign]
    ConditionExpressionParser.parse = cached_parse  # type: ignore[method-assign]
    Node.__deepcopy__ = node_deepcopy
    _installed.add("expressions")


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
    _one_sqs_request_at_a_time(SQSBackend)
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    Queue.messages = property(messages)  # type: ignore[method-assign,assignment]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    _installed.add("sends")


def _one_sqs_request_at_a_time(backend: Any) -> None:
    """moto's SQS is not safe for requests on many threads at once (a receive iterating the
    pending messages while another changes them raises "Set changed size during iteration"):
    one lock over its requests, as over DynamoDB's. A long-polling receive waits for messages
    outside it, so sends are never held up behind a waiting receive."""
    lock = threading.RLock()
    for name in _SQS_REQUESTS:
        setattr(backend, name, _holding(lock, getattr(backend, name)))
    receive = _holding(lock, backend.receive_message)

    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any
    ) -> Any:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            received = receive(self, queue_name, count, 0, *args, **kwargs)
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                return received
            self.get_queue(queue_name).wait_for_messages(min(1.0, remaining))

    backend.receive_message = receive_message


_SQS_REQUESTS = (
    "create_queue",
    "delete_queue",
    "get_queue_attributes",
    "set_queue_attributes",
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "list_dead_letter_source_queues",
)


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


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)
