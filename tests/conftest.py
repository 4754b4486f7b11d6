"""Shared test helpers: sample events, a fake Lambda context, handlers loaded by path."""

from __future__ import annotations

import importlib.util
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# The sample events live with the local runner, which the bench shares; tests import them here.
from local.sample_events import api_event, load_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

__all__ = ["ROOT", "TEMPLATE", "api_event", "lambda_context", "load_event", "load_function"]

# What template.yaml's Globals give every function, set before any test module imports the
# layer: Powertools reads it when ``lisoloo.observability`` builds its Metrics, and without it
# a metric set that fills up (100 values, flushed on its own) fails with "no namespace".
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Lisoloo")


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/23/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(aws_request_id=str(uuid.uuid4()))


_handlers: dict[str, ModuleType] = {}


def load_function(name: str) -> ModuleType:
    """``functions/<name>/app.py`` as a module of its own (every function's file is app.py).
    Import only after the AWS mock and environment are in place: settings are read once."""
    if name not in _handlers:
        spec = importlib.util.spec_from_file_location(f"function_{name}", ROOT / "functions" / name / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handlers[name] = module
    return _handlers[name]
