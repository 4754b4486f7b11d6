"""Runs the template's functions in this process, one at a time per function, like Lambda.

Every function shares this process's ``os.environ`` (one interpreter, one environment), so
the union of their resolved variables is set before any handler is imported, and two
functions that disagree on a variable stop the stack: locally they could not both be right.

A function's code is its ``app.py`` (any module named by ``Handler``) plus the layer, which
is installed in the virtualenv; sibling modules next to ``app.py`` are not put on
``sys.path``, because every function would then share one ``sys.modules`` entry per name.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Any

from local.infrastructure import FunctionSpec

Handler = Callable[[Any, Any], Any]

logger = logging.getLogger("local.lambda")


class EnvironmentConflictError(RuntimeError):
    """Two functions resolve one environment variable to different values."""


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    @classmethod
    def starting_now(
        cls,
        function_name: str,
        *,
        seconds: float,
        arn: str | None = None,
        memory_mb: int = 128,
        request_id: str | None = None,
    ) -> FakeLambdaContext:
        """The context of an invocation that starts now and has ``seconds`` to run."""
        request_id = request_id or str(uuid.uuid4())
        return cls(
            function_name=function_name,
            invoked_function_arn=arn or f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
            memory_limit_in_mb=memory_mb,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function_name}",
            log_stream_name=f"local/[$LATEST]{request_id.replace('-', '')}",
            deadline_monotonic=time.monotonic() + seconds,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


@dataclass(frozen=True)
class InvocationError:
    """What Lambda reports for a function error: errorType and errorMessage, plus the
    traceback it would write to the function's log (callers decide whether to show it)."""

    error_type: str
    message: str
    trace: str = ""


@dataclass(frozen=True)
class Invocation:
    request_id: str
    result: Any = None
    error: InvocationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class LocalFunction:
    spec: FunctionSpec
    handler: Handler
    # The module the handler was loaded from: tests and the bench replace its attributes (the
    # handler reads them at call time), e.g. dispatch's carrier_connector.
    module: ModuleType | None = None
    # A Lambda execution environment runs one invocation at a time, and Powertools resolvers
    # keep per-invocation state on module-level objects: one lock per function keeps that true.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoke(self, event: Any, *, timeout_seconds: float | None = None) -> Invocation:
        """Invokes the handler as Lambda does: the event crosses a JSON boundary both ways,
        an exception or an unserialisable result is a function error, and overrunning the
        function's Timeout (or ``timeout_seconds``, for this invocation) is one too (the result
        is discarded, as Lambda would have killed it)."""
        timeout = self.spec.timeout_seconds if timeout_seconds is None else timeout_seconds
        request_id = str(uuid.uuid4())
        payload = json.loads(json.dumps(event))
        with self._lock:
            started = time.monotonic()
            context = FakeLambdaContext.starting_now(
                self.spec.name,
                seconds=timeout,
                arn=self.spec.arn,
                memory_mb=self.spec.memory_mb,
                request_id=request_id,
            )
            try:
                result = self.handler(payload, context)
            except Exception as error:
                return Invocation(
                    request_id,
                    error=InvocationError(type(error).__name__, str(error), traceback.format_exc()),
                )
            elapsed = time.monotonic() - started
        if elapsed > timeout:
            message = f"Task timed out after {timeout:.2f} seconds (ran {elapsed:.2f} s locally)"
            return Invocation(request_id, error=InvocationError("Sandbox.Timedout", message))
        try:
            marshalled = json.loads(json.dumps(result, default=_lambda_json_default))
        except (TypeError, ValueError) as error:
            return Invocation(request_id, error=InvocationError("Runtime.MarshalError", str(error)))
        return Invocation(request_id, result=marshalled)


def _lambda_json_default(value: object) -> object:
    # The Python runtime's serializer accepts Decimal (what boto3's DynamoDB layer returns).
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def merged_environment(specs: Iterable[FunctionSpec]) -> dict[str, str]:
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for spec in specs:
        for name, value in spec.environment.items():
            if name in merged and merged[name] != value:
                raise EnvironmentConflictError(
                    f"{name} is {merged[name]!r} for {owners[name]} but {value!r} for {spec.logical_id}; "
                    "locally all functions share one process environment"
                )
            merged[name] = value
            owners.setdefault(name, spec.logical_id)
    return merged


def load_functions(specs: Iterable[FunctionSpec], overrides: Mapping[str, str]) -> dict[str, LocalFunction]:
    """Sets the functions' environment (then ``overrides``), imports every handler, and returns
    them by logical id. Nothing is imported before the environment is complete, because
    settings are read once at import (cold start)."""
    specs = list(specs)
    os.environ.update(merged_environment(specs))
    os.environ.update(overrides)
    functions = {spec.logical_id: load_function(spec) for spec in specs}
    _send_stdout_log_handlers_to_stderr()
    return functions


def load_function(spec: FunctionSpec) -> LocalFunction:
    """Imports one function's handler module (its cold start: the environment must be set)."""
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: handler {spec.handler} needs {source}")
    # Every function has an app.py: a unique (flat, parentless) module name keeps them apart.
    module_name = f"lisoloo_local_{spec.logical_id}_{module_path.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(module_name, source)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    # Registered before it runs: pydantic and dataclasses look their module up in sys.modules.
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"{source} has no callable {attribute!r} ({spec.logical_id} Handler: {spec.handler})")
    return LocalFunction(spec, handler, module)


def _send_stdout_log_handlers_to_stderr() -> None:
    """Powertools' Logger writes to stdout (CloudWatch's stream in Lambda); here stdout carries
    only the banner and the READY line that tests read, so handler logs move to stderr."""
    loggers = [logging.getLogger()] + [
        candidate for candidate in logging.Logger.manager.loggerDict.values() if isinstance(candidate, logging.Logger)
    ]
    for candidate in loggers:
        for handler in candidate.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)
