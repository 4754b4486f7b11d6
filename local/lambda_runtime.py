"""Runs the template's functions in this process, like Lambda: each invocation in an execution
environment of its own, one invocation at a time per environment.

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
from dataclasses import dataclass
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
class _Environment:
    """One execution environment: the handler module loaded once, running one invocation at a
    time (Powertools resolvers and batch processors keep per-invocation state on module-level
    objects)."""

    handler: Handler
    module: ModuleType | None


class LocalFunction:
    """A function and its execution environments: up to ``concurrency`` invocations run at once,
    each in an environment of its own, made (a cold start: its module imported again under a
    name of its own) when every existing one is busy, as Lambda scales out."""

    def __init__(
        self,
        spec: FunctionSpec,
        handler: Handler,
        module: ModuleType | None = None,
        *,
        concurrency: int = 1,
        cold_start: Callable[[int], _Environment] | None = None,
    ) -> None:
        if concurrency > 1 and cold_start is None:
            raise ValueError("more than one environment needs a way to make them (cold_start)")
        self.spec = spec
        self.concurrency = concurrency
        self._environments = [_Environment(handler, module)]
        self._idle = list(self._environments)
        self._cold_start = cold_start
        self._available = threading.Condition()

    @property
    def handler(self) -> Handler:
        return self._environments[0].handler

    @property
    def module(self) -> ModuleType | None:
        """The first environment's module: tests and the bench replace its attributes (the
        handler reads them at call time), e.g. dispatch's carrier_connector."""
        return self._environments[0].module

    @property
    def environments(self) -> int:
        return len(self._environments)

    def invoke(self, event: Any, *, timeout_seconds: float | None = None) -> Invocation:
        """Invokes the handler as Lambda does: the event crosses a JSON boundary both ways,
        an exception or an unserialisable result is a function error, and overrunning the
        function's Timeout (or ``timeout_seconds``, for this invocation) is one too (the result
        is discarded, as Lambda would have killed it)."""
        timeout = self.spec.timeout_seconds if timeout_seconds is None else timeout_seconds
        request_id = str(uuid.uuid4())
        payload = json.loads(json.dumps(event))
        environment = self._take()
        try:
            started = time.monotonic()
            context = FakeLambdaContext.starting_now(
                self.spec.name,
                seconds=timeout,
                arn=self.spec.arn,
                memory_mb=self.spec.memory_mb,
                request_id=request_id,
            )
            try:
                result = environment.handler(payload, context)
            except Exception as error:
                return Invocation(
                    request_id,
                    error=InvocationError(type(error).__name__, str(error), traceback.format_exc()),
                )
            elapsed = time.monotonic() - started
        finally:
            self._give_back(environment)
        if elapsed > timeout:
            message = f"Task timed out after {timeout:.2f} seconds (ran {elapsed:.2f} s locally)"
            return Invocation(request_id, error=InvocationError("Sandbox.Timedout", message))
        try:
            marshalled = json.loads(json.dumps(result, default=_lambda_json_default))
        except (TypeError, ValueError) as error:
            return Invocation(request_id, error=InvocationError("Runtime.MarshalError", str(error)))
        return Invocation(request_id, result=marshalled)

    def _take(self) -> _Environment:
        with self._available:
            while not self._idle:
                if len(self._environments) < self.concurrency and self._cold_start is not None:
                    environment = self._cold_start(len(self._environments))
                    self._environments.append(environment)
                    return environment
                self._available.wait()
            return self._idle.pop()

    def _give_back(self, environment: _Environment) -> None:
        with self._available:
            self._idle.append(environment)
            self._available.notify()


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


def load_functions(
    specs: Iterable[FunctionSpec], overrides: Mapping[str, str], concurrency: Mapping[str, int] | None = None
) -> dict[str, LocalFunction]:
    """Sets the functions' environment (then ``overrides``), imports every handler, and returns
    them by logical id, each allowed ``concurrency[logical_id]`` environments (default one).
    Nothing is imported before the environment is complete, because settings are read once at
    import (cold start)."""
    specs = list(specs)
    os.environ.update(merged_environment(specs))
    os.environ.update(overrides)
    functions = {spec.logical_id: load_function(spec, (concurrency or {}).get(spec.logical_id, 1)) for spec in specs}
    _send_stdout_log_handlers_to_stderr()
    return functions


def load_function(spec: FunctionSpec, concurrency: int = 1) -> LocalFunction:
    """One function, its first environment loaded (its cold start: the process environment
    must be set); further ones are loaded when invocations overlap, up to ``concurrency``."""
    first = _load_environment(spec, 0)
    return LocalFunction(
        spec,
        first.handler,
        first.module,
        concurrency=concurrency,
        cold_start=lambda number: _load_environment(spec, number),
    )


def _load_environment(spec: FunctionSpec, number: int) -> _Environment:
    """Imports the handler's module anew: the ``number``-th execution environment's."""
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        raise FileNotFoundError(f"{spec.logical_id}: handler {spec.handler} needs {source}")
    # Every function has an app.py: a unique (flat, parentless) module name keeps them apart,
    # and each environment's copy apart from the others'.
    module_name = f"lisoloo_local_{spec.logical_id}_{module_path.replace('.', '_')}" + (f"_{number}" if number else "")
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
    return _Environment(handler, module)


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
