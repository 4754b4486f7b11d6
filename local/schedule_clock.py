"""The clock behind ``Type: Schedule`` / ``ScheduleV2`` events: every few seconds locally
(``LISOLOO_LOCAL_SWEEP_SECONDS``), whatever rate the template asks of AWS, so scheduled work
shows up in a demo or a test without waiting minutes."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from local.lambda_runtime import LocalFunction

logger = logging.getLogger("local.schedule")


def scheduled_event(rule_arn: str, region: str, account_id: str, now: datetime) -> dict[str, Any]:
    """EventBridge's "Scheduled Event", as a rule with no Input delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleClock:
    def __init__(
        self,
        function: LocalFunction,
        *,
        rule_arn: str,
        region: str,
        account_id: str,
        interval_seconds: float,
        input_json: str | None = None,
    ) -> None:
        self.function = function
        self.rule_arn = rule_arn
        self.region = region
        self.account_id = account_id
        self.interval_seconds = interval_seconds
        # A template's Input replaces the Scheduled Event entirely, as it does in EventBridge.
        self.input = json.loads(input_json) if input_json else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"clock-{function.spec.logical_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> None:
        event = (
            self.input
            if self.input is not None
            else scheduled_event(self.rule_arn, self.region, self.account_id, datetime.now(UTC))
        )
        invocation = self.function.invoke(event)
        if invocation.error is not None:
            # EventBridge would retry an async invocation; the next tick comes soon enough here.
            logger.error(
                "%s failed on its schedule (%s: %s)\n%s",
                self.function.spec.logical_id,
                invocation.error.error_type,
                invocation.error.message,
                invocation.error.trace,
            )

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.tick()
            except Exception:
                logger.exception("the schedule clock for %s failed", self.function.spec.logical_id)
