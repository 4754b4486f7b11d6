"""SnapStart: each copy of a function resumed from one snapshot reseeds ``random``."""

from __future__ import annotations

import importlib
import random
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.imports import FUNCTIONS, function_names, lambda_environment
from bench.stack import ROOT


def test_outside_lambda_nothing_is_registered() -> None:
    from lisoloo import snapstart

    assert snapstart.RESTORE_HOOKS is False


def test_in_lambda_random_is_reseeded_after_each_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Lambda's hooks library, as its Python runtime provides it
    registered: list[Callable[..., Any]] = []
    hooks = types.ModuleType("snapshot_restore_py")
    hooks.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", hooks)
    monkeypatch.delitem(sys.modules, "lisoloo.snapstart", raising=False)

    # When the layer is imported (every function imports it through lisoloo.dependencies)
    snapstart = importlib.import_module("lisoloo.snapstart")

    # Then random is reseeded on restore: two copies with one snapshot's state diverge
    assert snapstart.RESTORE_HOOKS is True and registered == [random.seed]
    state = random.getstate()
    registered[0]()
    first = random.random()
    random.setstate(state)
    registered[0]()
    assert random.random() != first
    monkeypatch.delitem(sys.modules, "lisoloo.snapstart")
    importlib.import_module("lisoloo.snapstart")  # as it was, for the tests after this one


@pytest.mark.parametrize("function", function_names())
def test_every_functions_import_registers_the_restore_hook(function: str, tmp_path: Path) -> None:
    # Given Lambda's hooks library on the path, recording what is registered
    (tmp_path / "snapshot_restore_py.py").write_text(
        "registered = []\ndef register_after_restore(hook):\n    registered.append(hook.__qualname__)\n"
    )
    probe = (
        f"import sys; sys.path[:0] = {[str(tmp_path), str(ROOT / 'layers/core'), str(FUNCTIONS / function)]!r}\n"
        "import app, snapshot_restore_py; print(snapshot_restore_py.registered)"
    )
    # When the function is imported as Lambda imports it (every function has SnapStart)
    completed = subprocess.run(
        [sys.executable, "-c", probe], env=lambda_environment(function), capture_output=True, text=True, check=False
    )
    # Then random is reseeded after each restore
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split("\n")[-2] == "['Random.seed']"
