"""One line every few seconds while the local stack has work in flight: messages and recipients
not yet final, what the sandbox carrier took and answered, queue depths and dead letters.

Nothing here reads the table: messages are followed from the stream records the webhooks
function's poller reads anyway (each carries the message item as it now is), queues from
SQS's own counts, the sandbox from its counters.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from local.infrastructure import DeployedStack

logger = logging.getLogger("local.progress")

INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class Snapshot:
    messages_in_flight: int
    recipients_final: int
    recipients_in_flight: int
    queues: Mapping[str, int]
    dead_letters: int
    carrier: Mapping[str, int]

    @property
    def busy(self) -> bool:
        return bool(self.messages_in_flight or any(self.queues.values()) or self.carrier.get("receipts waiting"))

    def line(self) -> str:
        queues = ", ".join(f"{name} {depth}" for name, depth in self.queues.items())
        carrier = ", ".join(f"{count:,} {what}" for what, count in self.carrier.items())
        return (
            f"{self.messages_in_flight:,} message{'' if self.messages_in_flight == 1 else 's'} in flight "
            f"({self.recipients_in_flight:,} recipients); "
            f"{self.recipients_final:,} recipients final · sandbox: {carrier} · queues: {queues} · "
            f"dead letters: {self.dead_letters}"
        )


class MessageTally:
    """Messages and their recipients, from the message items' stream records: in flight until
    every recipient is final. A record read twice (a retried batch) changes nothing."""

    def __init__(self) -> None:
        self._in_flight: dict[str, tuple[int, int]] = {}  # message id -> (total, final)
        # Every message's final count: a record read again after its message finished (a
        # retried batch) must not count its recipients twice.
        self._finals: dict[str, int] = {}
        self._final = 0
        self._lock = threading.Lock()

    def observe(self, record: Mapping[str, Any]) -> None:
        image = record.get("dynamodb", {}).get("NewImage")
        if not image or image.get("kind", {}).get("S") != "message" or "released_at" not in image:
            return  # not a message, gone, or a scheduled occurrence not yet due
        message_id = image["message_id"]["S"]
        total = int(image["total"]["N"])
        final = sum(int(image[name]["N"]) for name in ("delivered", "failed") if name in image)
        with self._lock:
            before = self._finals.get(message_id, 0)
            if final > before:
                self._final += final - before
                self._finals[message_id] = final
            if max(final, before) >= total:
                self._in_flight.pop(message_id, None)
            else:
                self._in_flight[message_id] = (total, max(final, before))

    def counts(self) -> tuple[int, int, int]:
        """(messages in flight, their recipients not yet final, recipients final so far)."""
        with self._lock:
            pending = sum(total - final for total, final in self._in_flight.values())
            return len(self._in_flight), pending, self._final


def queue_depths(stack: DeployedStack) -> Callable[[], tuple[dict[str, int], int]]:
    """The stack's work queues by name (``dispatch``, ``receipts``, ``webhook-deliveries``):
    messages waiting or being worked on; and what sits in their dead-letter queues."""
    sqs = boto3.client("sqs")
    queues = {
        logical_id.removesuffix("Queue"): stack.physical_id(logical_id)
        for logical_id, kind in stack.resource_types.items()
        if kind == "AWS::SQS::Queue"
    }

    def depth(url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def read() -> tuple[dict[str, int], int]:
        work = {_kebab(name): depth(url) for name, url in sorted(queues.items()) if not name.endswith("DeadLetter")}
        dead = sum(depth(url) for name, url in queues.items() if name.endswith("DeadLetter"))
        return work, dead

    return read


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class ProgressReporter:
    def __init__(
        self,
        tally: MessageTally,
        queue_depths: Callable[[], tuple[dict[str, int], int]],
        carrier_counts: Callable[[], dict[str, int]],
        interval_seconds: float = INTERVAL_SECONDS,
    ) -> None:
        self._tally = tally
        self._queue_depths = queue_depths
        self._carrier_counts = carrier_counts
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._last: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def snapshot(self) -> Snapshot:
        in_flight, recipients_in_flight, final = self._tally.counts()
        queues, dead_letters = self._queue_depths()
        return Snapshot(in_flight, final, recipients_in_flight, queues, dead_letters, self._carrier_counts())

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.report()
            except Exception:
                logger.debug("no progress line this time", exc_info=True)

    def report(self) -> str | None:
        """The line, when there is work in flight or it just finished (and it says something new)."""
        snapshot = self.snapshot()
        line = snapshot.line()
        was_busy = self._last is not None and not self._last.startswith("idle")
        if not snapshot.busy and not was_busy:
            return None
        if not snapshot.busy:
            line = f"idle: {line}"
        if line == self._last:
            return None
        self._last = line
        logger.info("%s", line)
        return line
