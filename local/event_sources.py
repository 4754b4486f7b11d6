"""The template's non-API events turned into local workers: SQS pollers, DynamoDB Streams
pollers and schedule clocks, each bound to the function that declares the event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

import boto3

from local.event_filters import parse_filter_criteria
from local.infrastructure import DeployedStack, EventSpec, FunctionSpec
from local.lambda_runtime import LocalFunction
from local.schedule_clock import ScheduleClock
from local.sqs_poller import SqsEventSource, SqsPoller
from local.stream_poller import StreamEventSource, StreamPoller

logger = logging.getLogger("local.events")

_REPORTS_FAILURES = "ReportBatchItemFailures"


class BackgroundWorker(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def build_workers(
    stack: DeployedStack,
    functions: Mapping[str, LocalFunction],
    *,
    schedule_seconds: float,
    session: boto3.Session | None = None,
    observe_stream: Callable[[Mapping[str, Any]], None] | None = None,
    stream_start: str | None = None,
) -> list[BackgroundWorker]:
    """``stream_start`` overrides the template's StartingPosition (a restored stack reads from
    LATEST: its restored items are not changes)."""
    session = session or boto3.Session()
    workers: list[BackgroundWorker] = []
    for logical_id, spec in stack.functions.items():
        function = functions[logical_id]
        for event in spec.events:
            if not _enabled(event.properties):
                continue
            source = polled_source(stack, event, session)
            if isinstance(source, SqsEventSource):
                pollers = min(function.concurrency, source.maximum_concurrency or function.concurrency)
                workers.append(SqsPoller(source, function, session, workers=pollers))
                logger.info("%s <- SQS %s (%d at once)", logical_id, source.queue_arn.rsplit(":", 1)[-1], pollers)
            elif isinstance(source, StreamEventSource):
                if stream_start is not None:
                    source = replace(source, starting_position=stream_start)
                workers.append(StreamPoller(source, function, session, observe=observe_stream))
                logger.info("%s <- DynamoDB stream of %s", logical_id, source.stream_arn.split("/")[1])
            elif event.type in ("Schedule", "ScheduleV2"):
                workers.append(_clock(stack, spec, event, function, schedule_seconds))
                logger.info("%s <- %s, every %g s locally", logical_id, event.type, schedule_seconds)
    return workers


def polled_source(
    stack: DeployedStack, event: EventSpec, session: boto3.Session
) -> SqsEventSource | StreamEventSource | None:
    """What Lambda's event source mapping for an SQS or DynamoDB event reads and how, resolved
    against the deployed stack; None for a disabled event or one of another type."""
    if not _enabled(event.properties):
        return None
    if event.type == "SQS":
        return _sqs_source(stack, event, session)
    if event.type == "DynamoDB":
        return _stream_source(stack, event, session)
    return None


def _enabled(properties: Mapping[str, Any]) -> bool:
    return properties.get("Enabled", True) is not False and properties.get("State", "ENABLED") != "DISABLED"


def _sqs_source(stack: DeployedStack, event: EventSpec, session: boto3.Session) -> SqsEventSource:
    properties = event.properties
    queue_arn = str(stack.resolve(properties["Queue"]))
    queue_url = session.client("sqs").get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
    return SqsEventSource(
        queue_url=queue_url,
        queue_arn=queue_arn,
        batch_size=int(properties.get("BatchSize", 10)),
        batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
        reports_failures=_REPORTS_FAILURES in (properties.get("FunctionResponseTypes") or []),
        filters=parse_filter_criteria(properties.get("FilterCriteria")),
        maximum_concurrency=(
            int(stack.resolve(scaling["MaximumConcurrency"]))
            if (scaling := properties.get("ScalingConfig") or {}).get("MaximumConcurrency") is not None
            else None
        ),
    )


def _stream_source(stack: DeployedStack, event: EventSpec, session: boto3.Session) -> StreamEventSource:
    properties = event.properties
    return StreamEventSource(
        stream_arn=str(stack.resolve(properties["Stream"])),
        batch_size=int(properties.get("BatchSize", 100)),
        starting_position=str(properties.get("StartingPosition", "LATEST")),
        reports_failures=_REPORTS_FAILURES in (properties.get("FunctionResponseTypes") or []),
        maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
        bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
        on_failure_queue_url=_on_failure_queue_url(stack, properties, session),
        filters=parse_filter_criteria(properties.get("FilterCriteria")),
    )


def _on_failure_queue_url(stack: DeployedStack, properties: Mapping[str, Any], session: boto3.Session) -> str | None:
    destination = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
    if not destination:
        return None
    arn = str(stack.resolve(destination["Destination"]))
    if ":sqs:" not in arn:
        logger.warning("on-failure destination %s is not a queue; only SQS destinations are served locally", arn)
        return None
    url: str = session.client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"]
    return url


def _clock(
    stack: DeployedStack,
    spec: FunctionSpec,
    event: EventSpec,
    function: LocalFunction,
    interval_seconds: float,
) -> ScheduleClock:
    # SAM names the rule (or schedule) it creates for an event <Function><Event>.
    rule_id = f"{spec.logical_id}{event.name}"
    rule_name = stack.physical_ids.get(rule_id) or rule_id
    if event.type == "Schedule":
        rule_arn = f"arn:aws:events:{stack.region}:{stack.account_id}:rule/{rule_name}"
    else:
        rule_arn = f"arn:aws:scheduler:{stack.region}:{stack.account_id}:schedule/default/{rule_name}"
    return ScheduleClock(
        function,
        rule_arn=rule_arn,
        region=stack.region,
        account_id=stack.account_id,
        interval_seconds=interval_seconds,
        input_json=event.properties.get("Input"),
    )
