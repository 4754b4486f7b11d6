"""Shared test helpers: sample events, a fake Lambda context, handlers loaded by path."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"

# What template.yaml's Globals give every function, set before any test module imports the
# layer: Powertools reads it when ``lisoloo.observability`` builds its Metrics, and without it
# a metric set that fills up (100 values, flushed on its own) fails with "no namespace".
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Lisoloo")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>.json``."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return copy.deepcopy(event)


class Tenant(Protocol):
    org_id: str
    default_country: str


def api_event(
    event_name: str,
    caller: Tenant | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``events/<event_name>.json`` as API Gateway would pass this request on: with the
    authorizer's context for ``caller``, and the body, path, query and headers given."""
    event = load_event(event_name)
    if caller is not None:
        event["requestContext"]["authorizer"] = {
            "principalId": caller.org_id,
            "org_id": caller.org_id,
            "default_country": caller.default_country,
        }
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if path is not None:
        event["path"] = path
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    if headers is not None:
        event["headers"] = {**event["headers"], **headers}
        event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    return event


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
