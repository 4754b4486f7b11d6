"""How DynamoDB bills a request: item sizes and the capacity units they cost. Pure arithmetic.

Sizes follow AWS's "Item sizes and formats" page: an item is the sum of its attribute names
(UTF-8 bytes) and values; a string is its UTF-8 bytes, a number 1 byte per two significant
digits plus 1, binary its raw bytes, null and boolean 1 byte, a list or map 3 bytes plus
1 byte per element plus the elements (a map's elements with their names), a set its members.

Units follow "DynamoDB read and write operations": a write costs 1 unit per 1 KB of the
larger of the item before and after, rounded up per item (a failed conditional write too);
a read 1 unit per 4 KB (a Query rounds its total, not each item), half for eventually
consistent reads; transactional writes and reads cost double. A global secondary index
write costs 1 unit per 1 KB of the index entry, twice when the index key changes.

Values are DynamoDB JSON (``{"S": "..."}``), as in requests, responses and stream images.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4 * 1024

Item = Mapping[str, Mapping[str, Any]]


def number_size(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeroes trimmed), plus 1."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def _binary_size(value: Any) -> int:
    # Requests carry raw bytes; moto's JSON carries base64 text. Either way the raw length counts.
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(base64.b64decode(value))


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one typed value, without its attribute name."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return number_size(data)
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in data)
    if kind == "NS":
        return sum(number_size(member) for member in data)
    if kind == "BS":
        return sum(_binary_size(member) for member in data)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Units for writing one item of ``size`` bytes: 1 KB each, rounded up, at least 1."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    """Units for reading ``size`` bytes (one item, or a Query's total): 4 KB each, rounded up,
    at least one; an eventually consistent read costs half."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def item_write_units(before: Item | None, after: Item | None, *, transactional: bool = False) -> int:
    """A put, update or delete: the larger of the item before and after decides."""
    units = write_units(max(item_size(before), item_size(after)))
    return 2 * units if transactional else units


def query_read_units(items: Iterable[Item], *, consistent: bool) -> float:
    return read_units(sum(item_size(item) for item in items), consistent=consistent)


@dataclass(frozen=True, slots=True)
class IndexShape:
    """A global secondary index: its key attributes and what it projects."""

    name: str
    key_attributes: tuple[str, ...]
    projection: str = "ALL"  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TableShape:
    key_attributes: tuple[str, ...]
    indexes: tuple[IndexShape, ...] = ()

    def key_of(self, item: Item) -> tuple[str, ...]:
        return tuple(str(next(iter(item[name].values()))) for name in self.key_attributes)


def index_entry(item: Item | None, index: IndexShape, table: TableShape) -> dict[str, Any] | None:
    """What the index holds for ``item``: None when the item lacks an index key (sparse)."""
    if item is None or any(name not in item for name in index.key_attributes):
        return None
    if index.projection == "ALL":
        return dict(item)
    kept = set(table.key_attributes) | set(index.key_attributes)
    if index.projection == "INCLUDE":
        kept |= set(index.included)
    return {name: value for name, value in item.items() if name in kept}


def index_write_units(before: Item | None, after: Item | None, index: IndexShape, table: TableShape) -> int:
    """What a table write costs in one index: nothing if the item is in it neither before nor
    after (or its entry is unchanged), one write to add, remove or rewrite the entry, and two
    (a delete and a put) when the index key itself changes."""
    old, new = index_entry(before, index, table), index_entry(after, index, table)
    if old is None and new is None:
        return 0
    if old is None:
        return write_units(item_size(new))
    if new is None:
        return write_units(item_size(old))
    if any(old[name] != new[name] for name in index.key_attributes):
        return write_units(item_size(old)) + write_units(item_size(new))
    if old == new:
        return 0
    return write_units(max(item_size(old), item_size(new)))


def indexes_write_units(before: Item | None, after: Item | None, table: TableShape) -> int:
    return sum(index_write_units(before, after, index, table) for index in table.indexes)
