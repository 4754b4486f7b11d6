"""Lambda's reading of batchItemFailures."""

from __future__ import annotations

from typing import Any

import pytest

from local.batch_responses import failed_item_ids
from local.lambda_runtime import Invocation, InvocationError

IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "c"}]}, {"a", "c"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "a"}]}, set(IDS)),
        ("not an object", set(IDS)),
    ],
)
def test_reported_failures(result: Any, expected: set[str]) -> None:
    # Given a function with ReportBatchItemFailures; When it answers; Then Lambda's rule applies
    assert failed_item_ids(Invocation("r", result=result), IDS, reports_failures=True) == expected


def test_function_error_fails_the_whole_batch() -> None:
    invocation = Invocation("r", error=InvocationError("ValueError", "x"))
    assert failed_item_ids(invocation, IDS, reports_failures=True) == set(IDS)
    assert failed_item_ids(invocation, IDS, reports_failures=False) == set(IDS)


def test_answer_is_ignored_without_report_batch_item_failures() -> None:
    invocation = Invocation("r", result={"batchItemFailures": [{"itemIdentifier": "a"}]})
    assert failed_item_ids(invocation, IDS, reports_failures=False) == set()
