"""Handlers run in-process the way Lambda runs them."""

from __future__ import annotations

import os
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local.infrastructure import FunctionSpec
from local.lambda_runtime import (
    EnvironmentConflictError,
    FakeLambdaContext,
    LocalFunction,
    load_function,
    load_functions,
    merged_environment,
)


def _spec(logical_id: str = "F", code_dir: Path = Path("."), timeout: int = 3, **environment: str) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        name=f"stack-{logical_id}",
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:stack-{logical_id}",
        code_dir=code_dir,
        handler="app.lambda_handler",
        timeout_seconds=timeout,
        memory_mb=256,
        environment=environment,
        events=(),
    )


def test_result_crosses_a_json_boundary() -> None:
    # Given a handler that returns a Decimal (as boto3's DynamoDB layer does) and sees its context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "n": Decimal("1.5"),
            "name": context.function_name,
            "left": context.get_remaining_time_in_millis(),
        }

    # When it is invoked
    invocation = LocalFunction(_spec(), handler).invoke({"a": 1})

    # Then the result is plain JSON and the context is Lambda's
    assert invocation.ok
    assert invocation.result["n"] == 1.5
    assert invocation.result["name"] == "stack-F"
    assert 0 < invocation.result["left"] <= 3000


def test_exception_is_a_function_error_with_its_trace() -> None:
    def handler(event: Any, context: Any) -> None:
        raise ValueError("broken")

    invocation = LocalFunction(_spec(), handler).invoke({})
    assert invocation.error is not None
    assert (invocation.error.error_type, invocation.error.message) == ("ValueError", "broken")
    assert "Traceback" in invocation.error.trace


def test_unserialisable_result_is_a_marshal_error() -> None:
    invocation = LocalFunction(_spec(), lambda event, context: {"at": object()}).invoke({})
    assert invocation.error is not None
    assert invocation.error.error_type == "Runtime.MarshalError"


def test_overrunning_the_timeout_is_a_function_error() -> None:
    # Given a function with a 0 s timeout (anything overruns it)
    invocation = LocalFunction(_spec(timeout=0), lambda event, context: time.sleep(0.01)).invoke({})

    # Then its result is discarded as Lambda would have killed it
    assert invocation.error is not None
    assert invocation.error.error_type == "Sandbox.Timedout"


def test_an_invocation_can_be_given_its_own_timeout() -> None:
    # Given a function whose Timeout anything overruns, and a handler that reports its time left
    function = LocalFunction(_spec(timeout=0), lambda event, context: context.get_remaining_time_in_millis())

    # When it is invoked with 5 s for this invocation
    invocation = function.invoke({}, timeout_seconds=5)

    # Then the handler had those 5 s, and finishing within them is no timeout
    assert invocation.ok
    assert 4000 < invocation.result <= 5000
    assert function.invoke({}).error is not None  # the function's own Timeout still applies


def test_a_context_counts_down_to_its_deadline() -> None:
    context = FakeLambdaContext.starting_now("f", seconds=0.2)
    assert 0 < context.get_remaining_time_in_millis() <= 200
    assert context.invoked_function_arn.endswith(":function:f")
    time.sleep(0.25)
    assert context.get_remaining_time_in_millis() == 0


def test_one_invocation_at_a_time_per_function() -> None:
    # Given a slow handler that records how many invocations overlap
    running = 0
    most = 0
    guard = threading.Lock()

    def handler(event: Any, context: Any) -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with guard:
            running -= 1

    function = LocalFunction(_spec(), handler)

    # When four threads invoke it together
    threads = [threading.Thread(target=function.invoke, args=({},)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then they ran one after another
    assert most == 1


def test_functions_that_disagree_on_a_variable_stop_the_stack() -> None:
    # Given two functions resolving TABLE_NAME differently
    specs = [_spec("A", TABLE_NAME="t1", SHARED="x"), _spec("B", TABLE_NAME="t2", SHARED="x")]

    # When / Then merging their environments fails, naming both
    with pytest.raises(EnvironmentConflictError, match=r"TABLE_NAME.*A.*B"):
        merged_environment(specs)
    assert merged_environment([_spec("A", X="1"), _spec("B", X="1", Y="2")]) == {"X": "1", "Y": "2"}


def test_handlers_are_loaded_after_the_environment_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given two functions, each an app.py reading a variable at import (as settings do)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(
            "import os\nSEEN = os.environ['LOCAL_TEST_VALUE']\n"
            f"def lambda_handler(event, context):\n    return {{'fn': '{name}', 'seen': SEEN}}\n"
        )
    monkeypatch.delenv("LOCAL_TEST_VALUE", raising=False)
    specs = [
        _spec("One", code_dir=tmp_path / "one", LOCAL_TEST_VALUE="from-template"),
        _spec("Two", code_dir=tmp_path / "two", LOCAL_TEST_VALUE="from-template"),
    ]

    # When they are loaded
    functions = load_functions(specs, overrides={})

    # Then each is its own module and saw the template's environment at import
    assert functions["One"].invoke({}).result == {"fn": "one", "seen": "from-template"}
    assert functions["Two"].invoke({}).result == {"fn": "two", "seen": "from-template"}
    assert os.environ["LOCAL_TEST_VALUE"] == "from-template"
    for logical_id in ("One", "Two"):
        sys.modules.pop(f"lisoloo_local_{logical_id}_app", None)


def test_a_loaded_function_keeps_its_module_and_reads_it_at_call_time(tmp_path: Path) -> None:
    # Given a function whose handler calls a module-level collaborator
    (tmp_path / "app.py").write_text(
        "def carrier():\n    return 'real'\n\ndef lambda_handler(event, context):\n    return carrier()\n"
    )
    function = load_function(_spec("Patched", code_dir=tmp_path))
    try:
        # When a test replaces the collaborator on the function's module
        assert function.module is not None
        function.module.carrier = lambda: "fake"

        # Then the next invocation uses the replacement
        assert function.invoke({}).result == "fake"
    finally:
        sys.modules.pop("lisoloo_local_Patched_app", None)


def test_overlapping_invocations_run_in_environments_of_their_own_up_to_the_limit(tmp_path: Path) -> None:
    # Given a function allowed two environments, whose module counts its invocations in flight
    (tmp_path / "app.py").write_text(
        "import threading, time\nRUNNING = 0\nMOST = 0\nGUARD = threading.Lock()\n"
        "def lambda_handler(event, context):\n"
        "    global RUNNING, MOST\n"
        "    with GUARD:\n        RUNNING += 1\n        MOST = max(MOST, RUNNING)\n"
        "    time.sleep(0.05)\n"
        "    with GUARD:\n        RUNNING -= 1\n"
        "    return id(GUARD)\n"
    )
    function = load_function(_spec("Scaled", code_dir=tmp_path), concurrency=2)
    results: list[Any] = []
    try:
        # When five threads invoke it together
        threads = [threading.Thread(target=lambda: results.append(function.invoke({}).result)) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then two environments were made (a cold start each), never more, and each ran one
        # invocation at a time: its module never saw two at once
        assert function.environments == 2
        assert len(set(results)) == 2  # two modules, two module-level locks
        modules = [sys.modules["lisoloo_local_Scaled_app"], sys.modules["lisoloo_local_Scaled_app_1"]]
        assert [module.MOST for module in modules] == [1, 1]
    finally:
        for name in ("lisoloo_local_Scaled_app", "lisoloo_local_Scaled_app_1"):
            sys.modules.pop(name, None)


def test_more_than_one_environment_needs_a_way_to_make_them() -> None:
    with pytest.raises(ValueError, match="cold_start"):
        LocalFunction(_spec(), lambda event, context: None, concurrency=2)
