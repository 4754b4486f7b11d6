"""FilterCriteria patterns over Lambda records."""

from __future__ import annotations

from typing import Any

import pytest

from local.event_filters import matches, matches_any, parse_filter_criteria

RECORD = {
    "eventName": "MODIFY",
    "dynamodb": {"NewImage": {"SK": {"S": "META"}, "status": {"S": "sent"}, "count": 3}},
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["MODIFY"]}, True),
        ({"eventName": ["INSERT", "MODIFY"]}, True),
        ({"eventName": ["INSERT"]}, False),
        ({"dynamodb": {"NewImage": {"SK": {"S": ["META"]}}}}, True),
        ({"dynamodb": {"NewImage": {"SK": {"S": [{"prefix": "ME"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"SK": {"S": [{"suffix": "TA"}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["sent"]}]}}}}, False),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": {"prefix": "x"}}]}}}}, True),
        ({"dynamodb": {"NewImage": {"status": {"S": [{"equals-ignore-case": "SENT"}]}}}}, True),
        ({"dynamodb": {"OldImage": [{"exists": False}]}}, True),
        ({"dynamodb": {"NewImage": [{"exists": True}]}}, True),
        ({"dynamodb": {"NewImage": {"count": [{"numeric": [">", 2, "<=", 3]}]}}}, True),
        ({"dynamodb": {"NewImage": {"count": [{"numeric": [">", 3]}]}}}, False),
        ({"tags": ["b"]}, True),
        ({"missing": ["x"]}, False),
    ],
)
def test_pattern(pattern: dict[str, Any], expected: bool) -> None:
    # Given a stream record; When a pattern is applied; Then it matches as EventBridge would
    assert matches(pattern, RECORD) is expected


def test_no_filters_match_everything_and_any_filter_is_enough() -> None:
    # Given the template's FilterCriteria form (patterns as JSON strings)
    patterns = parse_filter_criteria(
        {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}, {"Pattern": '{"eventName": ["MODIFY"]}'}]}
    )

    # Then a record matching one filter passes, and no filters pass everything
    assert matches_any(patterns, RECORD)
    assert matches_any([], RECORD)
    assert not matches_any(patterns[:1], RECORD)
