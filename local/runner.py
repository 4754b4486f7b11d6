"""The deployed template's functions run in this process on demand, and their SQS and DynamoDB
Streams event sources drained synchronously: what the integration tests and the bench drive.

The same parts as the local stack's (``LocalFunction`` for invocations, ``SqsPoller`` and
``StreamPoller`` for Lambda's batch semantics), stepped by the caller instead of by threads
and clocks, so a test or a scenario decides when SQS and the stream deliver.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import boto3

from local.batch_responses import BatchOutcome
from local.event_sources import polled_source
from local.infrastructure import DeployedStack
from local.lambda_runtime import Invocation, LocalFunction, load_function
from local.sqs_poller import SqsEventSource, SqsPoller
from local.stream_poller import StreamPoller

Poller = SqsPoller | StreamPoller


class InProcessRunner:
    """Functions by logical id, each imported on first use (its cold start: the process
    environment must hold the functions' own by then, ``merged_environment``, as settings are
    read at import), and pollers for the template's SQS and DynamoDB events.

    ``session`` is what SQS pollers receive and delete with, ``stream_session`` what stream
    pollers read with (by default ``session``): the bench counts the first, not the second, as
    Lambda bills its SQS requests and not its stream reads. ``timeout_seconds`` replaces every
    function's Timeout (the bench's moto is far slower than DynamoDB; it measures requests).
    """

    def __init__(
        self,
        stack: DeployedStack,
        *,
        session: boto3.Session | None = None,
        stream_session: boto3.Session | None = None,
        timeout_seconds: int | None = None,
    ) -> None:
        self.stack = stack
        self._session = session or boto3.Session()
        self._stream_session = stream_session or self._session
        self._timeout_seconds = timeout_seconds
        self._functions: dict[str, LocalFunction] = {}
        self._pollers: dict[str, list[Poller]] = {}
        # Tests call handlers from many threads at once; a function is imported once.
        self._loading = threading.Lock()

    def logical_id(self, code_folder: str) -> str:
        """The function whose code is ``functions/<code_folder>/`` (how tests and the bench name them)."""
        for logical_id, spec in self.stack.functions.items():
            if spec.code_dir.name == code_folder:
                return logical_id
        raise KeyError(f"no function of stack {self.stack.stack_name} has its code in {code_folder}/")

    def function(self, logical_id: str) -> LocalFunction:
        with self._loading:
            if logical_id not in self._functions:
                spec = self.stack.functions[logical_id]
                if self._timeout_seconds is not None:
                    spec = dataclasses.replace(spec, timeout_seconds=self._timeout_seconds)
                self._functions[logical_id] = load_function(spec)
            return self._functions[logical_id]

    def module(self, logical_id: str) -> ModuleType:
        """The module the function's handler lives in (to replace what the handler looks up)."""
        module = self.function(logical_id).module
        assert module is not None, "load_function always keeps the module"
        return module

    def invoke(self, logical_id: str, event: Any, *, timeout_seconds: float | None = None) -> Invocation:
        return self.function(logical_id).invoke(event, timeout_seconds=timeout_seconds)

    def pollers(self, logical_id: str | None = None) -> list[Poller]:
        """The pollers of every enabled SQS and DynamoDB event of one function, or of all in
        the template's order; each made once, when first asked for (resolving its source makes
        AWS requests, and its function is imported)."""
        logical_ids = list(self.stack.functions) if logical_id is None else [logical_id]
        return [poller for function_id in logical_ids for poller in self._pollers_of(function_id)]

    def _pollers_of(self, logical_id: str) -> list[Poller]:
        if logical_id not in self._pollers:
            pollers: list[Poller] = []
            for event in self.stack.functions[logical_id].events:
                source = polled_source(self.stack, event, self._session)
                if isinstance(source, SqsEventSource):
                    pollers.append(SqsPoller(source, self.function(logical_id), self._session))
                elif source is not None:
                    # No wait between a stream batch's retries: each drain is one attempt.
                    stream = StreamPoller(source, self.function(logical_id), self._stream_session, retry_delay=0)
                    stream.refresh_shards(first=True)
                    pollers.append(stream)
            self._pollers[logical_id] = pollers
        return self._pollers[logical_id]

    def drain(self, pollers: Sequence[Poller] | None = None) -> list[BatchOutcome]:
        """Every poller (by default all, in the template's order) drained in turn, round after
        round, until a round moves nothing on: what one function sends or writes reaches the
        next. Returns every batch delivered, in order; failed ones are the caller's to judge."""
        pollers = self.pollers() if pollers is None else pollers
        outcomes: list[BatchOutcome] = []
        while True:
            delivered = [outcome for poller in pollers for outcome in poller.drain()]
            outcomes.extend(delivered)
            if not any(outcome.progressed for outcome in delivered):
                return outcomes
