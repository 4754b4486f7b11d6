"""Event source mapping ``FilterCriteria``: EventBridge-style patterns over Lambda's records.

Covers what filters on SQS bodies and DynamoDB images use: exact values, ``prefix``,
``suffix``, ``equals-ignore-case``, ``anything-but``, ``exists`` and ``numeric``. A record
matches when any filter matches; no filters means every record matches.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def parse_filter_criteria(criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The ``Pattern`` of each filter in a template's ``FilterCriteria`` (JSON strings there)."""
    patterns: list[dict[str, Any]] = []
    for entry in (criteria or {}).get("Filters", []) or []:
        pattern = entry.get("Pattern", "{}")
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return patterns


def matches_any(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    for key, expected in pattern.items():
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if not any(_condition(condition, value) for condition in expected):
                return False
        else:
            raise ValueError(f"filter pattern values must be lists or objects, not {expected!r}")
    return True


def _condition(condition: Any, value: Any) -> bool:
    if isinstance(value, list):
        # An array in the record matches when any of its elements does.
        if isinstance(condition, Mapping) and "exists" in condition:
            return bool(condition["exists"]) == bool(value)
        return any(_condition(condition, element) for element in value)
    if not isinstance(condition, Mapping):
        return value is not _MISSING and value == condition
    (operation, argument), *_ = condition.items()
    if operation == "exists":
        return (value is not _MISSING) == bool(argument)
    if value is _MISSING:
        return False
    if operation == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if operation == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if operation == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if operation == "anything-but":
        if isinstance(argument, Mapping):
            return not _condition(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return value not in excluded
    if operation == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(_NUMERIC[symbol](value, bound) for symbol, bound in pairs)
    raise ValueError(f"filter operation {operation!r} is not supported locally")
