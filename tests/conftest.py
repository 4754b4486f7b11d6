"""Shared test helpers: sample events and a Lambda context (the local runner's own). The functions
themselves are the deployed stack's: ``tests.integration.conftest.load_function``."""

from __future__ import annotations

import os
from pathlib import Path

from local.lambda_runtime import FakeLambdaContext

# The sample events live with the local runner, which the bench shares; tests import them here.
from local.sample_events import api_event, load_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

__all__ = ["ROOT", "TEMPLATE", "api_event", "lambda_context", "load_event"]

# What template.yaml's Globals give every function, set before any test module imports the
# layer: Powertools reads it when ``lisoloo.observability`` builds its Metrics, and without it
# a metric set that fills up (100 values, flushed on its own) fails with "no namespace".
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Lisoloo")


def lambda_context() -> FakeLambdaContext:
    """Lambda's context for a handler a test calls itself: 30 s left, as tests have always had."""
    return FakeLambdaContext.starting_now("test-function", seconds=30, memory_mb=512)
