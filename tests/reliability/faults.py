"""Fault injection for the moto rings: crashes and AWS errors at chosen points, via botocore events.

Two ways in, for two different questions:

* ``before-call`` hooks raise in the calling code at the N-th call, as if the function died
  there (``LambdaCrash``: a timeout or an out-of-memory kill, which nothing in the function can
  catch) or as if a dependency failed for good after the SDK's own retries (``InjectedFault``,
  or a ``ClientError`` with the code of your choice).
* ``before-send`` hooks answer the HTTP request instead of moto (which then never sees it), with
  a real AWS error body, so
  botocore parses it and its retry logic runs exactly as against AWS: throttling that clears
  after a few tries, or a transaction cancelled for ``TransactionConflict``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class LambdaCrash(BaseException):
    """The function died mid-invocation (timeout, out of memory): nothing in it can catch this,
    so a batch consumer reports nothing and SQS redelivers the whole batch."""


class InjectedFault(RuntimeError):
    """A dependency failed and stayed failed past every retry: the call raises."""


@dataclass
class CallFaults:
    """Raises at the ``after``-th matching call (0: the first) and at every one after it, until
    disarmed: from that point on the invocation is dead or its dependency is down."""

    client: Any
    service: str = "dynamodb"
    calls: Counter[str] = field(default_factory=Counter)
    fired: int = 0
    _after: int | None = None
    _operations: frozenset[str] = DYNAMODB_WRITES
    _make_error: Callable[[str], BaseException] = InjectedFault
    _seen: int = 0
    _where: Callable[[dict[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        self.client.meta.events.register(f"before-call.{self.service}.*", self._before_call)

    def arm(
        self,
        after: int,
        *,
        crash: bool = False,
        operations: Iterable[str] | None = None,
        error: Callable[[str], BaseException] | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """``where`` narrows the fault to calls whose parameters it accepts (e.g. one message's items)."""
        self._after = after
        self._where = where
        self._seen = 0
        self._operations = frozenset(operations) if operations is not None else DYNAMODB_WRITES
        self._make_error = error or (LambdaCrash if crash else InjectedFault)

    def disarm(self) -> None:
        self._after = None

    @contextmanager
    def armed(self, after: int, **options: Any) -> Iterator[CallFaults]:
        self.arm(after, **options)
        try:
            yield self
        finally:
            self.disarm()

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls[model.name] += 1
        if self._after is None or model.name not in self._operations:
            return
        if self._where is not None and not self._where(params):
            return
        self._seen += 1
        if self._seen > self._after:
            self.fired += 1
            raise self._make_error(f"injected at {model.name} call {self._seen}")


def mentioning(text: str) -> Callable[[dict[str, Any]], bool]:
    """A ``where`` for calls whose parameters mention ``text`` (a message id, a queue URL)."""
    return lambda params: text in json.dumps(params, default=str)


def client_error(code: str, operation: str = "call") -> Callable[[str], ClientError]:
    def make(message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, operation)

    return make


class _RawBody(BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def dynamodb_error(code: str, message: str = "injected", **extra: Any) -> AWSResponse:
    """A DynamoDB (JSON protocol) error answer as AWS sends it."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra})
    headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, headers, _RawBody(body.encode()))


def throttled() -> AWSResponse:
    return dynamodb_error("ProvisionedThroughputExceededException", "The level of configured provisioned throughput")


def transaction_conflict(items: int) -> AWSResponse:
    """A TransactWriteItems cancelled because another transaction touched one of its items."""
    reasons = [{"Code": "None"}] * (items - 1) + [{"Code": "TransactionConflict", "Message": "conflict"}]
    return dynamodb_error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        CancellationReasons=reasons,
    )


@dataclass
class WireFaults:
    """Answers the first ``times`` matching requests with an AWS error instead of moto, so the
    SDK's and our retries run as against AWS; counts every request it saw per operation."""

    client: Any
    service: str = "dynamodb"
    seen: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    _plan: dict[str, tuple[int, Callable[[dict[str, Any]], AWSResponse]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # First, so this answers before moto's own before-send handler does.
        self.client.meta.events.register_first(f"before-send.{self.service}.*", self._before_send)
        self.client.meta.events.register(f"before-parameter-build.{self.service}.*", self._remember)
        self._last_params: dict[str, Any] = {}

    def fail(self, operation: str, times: int, answer: Callable[[dict[str, Any]], AWSResponse]) -> None:
        self._plan[operation] = (times, answer)

    def clear(self) -> None:
        self._plan.clear()

    def _remember(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._last_params = {"operation": model.name, **params}

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        self.seen[operation] += 1
        planned = self._plan.get(operation)
        if planned is None or planned[0] <= 0:
            return None
        times, answer = planned
        self._plan[operation] = (times - 1, answer)
        self.answered[operation] += 1
        # Every before-send handler runs and the first answer wins; pointing the request
        # elsewhere keeps moto's handler (which runs after this one) from executing it too.
        request.url = "https://injected-fault.invalid/"
        return answer(self._last_params)
