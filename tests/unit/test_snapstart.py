"""SnapStart: each copy of a function resumed from one snapshot reseeds ``random``."""

from __future__ import annotations

import importlib
import random
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest


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
