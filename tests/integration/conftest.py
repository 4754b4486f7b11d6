"""Integration ring: real handlers, called with AWS-shaped events, against moto.

The table and queues are built once per package from template.yaml (translated by SAM and
created by moto's CloudFormation); tests stay apart by each using organizations of their own.
The functions are the deployed stack's, loaded by ``local.runner``, whose pollers also play
the SQS event sources when a test drains a queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lisoloo.carriers import CarrierReceipt, ReceiptRequest, Submission, SubmitOutcome, SubmitResult
from local import moto_speedups
from local.batch_responses import BatchOutcome
from local.infrastructure import DeployedStack, deploy_template
from local.lambda_runtime import merged_environment
from local.moto_server import moto_environment
from local.runner import InProcessRunner
from local.sqs_poller import SqsPoller
from tests.conftest import TEMPLATE, api_event, lambda_context, load_event

# The deployed stack's functions, while the package's stack fixture is up.
_runner: InProcessRunner | None = None


@pytest.fixture(scope="package")
def stack() -> Iterator[DeployedStack]:
    global _runner
    with moto_environment(), pytest.MonkeyPatch.context() as patch:
        # moto still refuses transactions over 25 items, DynamoDB's limit before 2022 (now 100).
        patch.setattr("moto.dynamodb.responses.TRANSACTION_MAX_ITEMS", 100)
        moto_speedups.back_up_only_touched_items()
        moto_speedups.sqs_reads_queue_once()
        with mock_aws(config={"lambda": {"use_docker": False}}):
            deployed = deploy_template(
                TEMPLATE, {"SandboxCarrierUrl": "http://127.0.0.1:9", "WebhookAllowLoopback": "true"}
            )
            for name, value in merged_environment(deployed.functions.values()).items():
                patch.setenv(name, value)
            _runner = InProcessRunner(deployed)
            try:
                yield deployed
            finally:
                _runner = None


def runner() -> InProcessRunner:
    if _runner is None:
        raise RuntimeError("the functions are the deployed stack's: use the stack (or harness) fixture")
    return _runner


def load_function(name: str) -> ModuleType:
    """``functions/<name>/app.py``'s module as the runner imported it (once, on first use, with
    the stack's environment: settings are read at import)."""
    return runner().module(runner().logical_id(name))


def purge_receipts_queue() -> None:
    """A receipts queue of the test's own: what earlier tests left there (a receipt they posted
    and never applied) would rightly hold the sweep's deadlines back (``receipts_waiting``)."""
    from lisoloo.dependencies import receipts_queue

    queue = receipts_queue()
    if not queue.holds_jobs():
        return
    try:
        queue.client.purge_queue(QueueUrl=queue.queue_url)
    except queue.client.exceptions.PurgeQueueInProgress:
        # One purge a minute: within it, take what is visible one by one.
        while messages := queue.client.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                queue.client.delete_message(QueueUrl=queue.queue_url, ReceiptHandle=message["ReceiptHandle"])


def drain_queue(function: str) -> list[BatchOutcome]:
    """``functions/<function>``'s SQS event source run until its queue is empty, as Lambda's
    mapping would. A crash fails the test (the batch processor's "every record failed" is an
    answer, not a crash). What the function failed is made visible again: SQS gives it back
    once its visibility timeout is over, which here is the next drain."""
    sqs = boto3.client("sqs")
    outcomes: list[BatchOutcome] = []
    for poller in runner().pollers(runner().logical_id(function)):
        assert isinstance(poller, SqsPoller)
        for outcome in runner().drain([poller]):
            error = outcome.invocation.error
            if error is not None and error.error_type != "BatchProcessingError":
                raise AssertionError(f"{function} crashed: {error.error_type}: {error.message}\n{error.trace}")
            for record in outcome.records:
                if record["messageId"] in outcome.failed:
                    sqs.change_message_visibility(
                        QueueUrl=poller.source.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )
            outcomes.append(outcome)
    return outcomes


@dataclass
class FakeCarrier:
    """Submits nothing anywhere: accepts, rejects (…0002) or fails transiently (…0006 always,
    …0005 twice) like the sandbox, and remembers every submission so tests can count them."""

    name: str = "sandbox"
    submissions: list[Submission] = field(default_factory=list)
    fail_after: int | None = None

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        results = []
        for submission in submissions:
            if self.fail_after is not None and len(self.submissions) >= self.fail_after:
                raise RuntimeError("the dispatch function crashed mid-batch")
            self.submissions.append(submission)
            if submission.to.endswith("0002"):
                results.append(SubmitResult(submission.reference, SubmitOutcome.REJECTED, error_code="REJECTD"))
            elif submission.to.endswith("0006") or (
                submission.to.endswith("0005") and self.attempts(submission.reference) <= 2
            ):
                results.append(SubmitResult(submission.reference, SubmitOutcome.TRANSIENT))
            else:
                results.append(SubmitResult(submission.reference, SubmitOutcome.ACCEPTED, submission.reference))
        return results

    def attempts(self, reference: str) -> int:
        return sum(1 for submission in self.submissions if submission.reference == reference)

    def parse_receipts(self, request: ReceiptRequest) -> list[CarrierReceipt]:
        raise AssertionError("receipts go through the real sandbox connector")


@dataclass
class Merchant:
    org_id: str
    app_key: str
    default_country: str = "KE"


@dataclass
class Harness:
    """Drives the handlers the way API Gateway, SQS and carriers would."""

    stack: DeployedStack
    carrier: FakeCarrier
    carrier_token: str

    @property
    def table_name(self) -> str:
        return self.stack.physical_id("SmsTable")

    @property
    def queue_url(self) -> str:
        return self.stack.physical_id("DispatchQueue")

    @property
    def receipts_queue_url(self) -> str:
        return self.stack.physical_id("ReceiptsQueue")

    def repository(self) -> Any:
        from lisoloo.storage import SmsRepository

        return SmsRepository(self.table_name)

    def new_merchant(self, default_country: str = "KE") -> Merchant:
        from lisoloo_admin.provisioning import create_organization, issue_app_key

        repository = self.repository()
        org_id = create_organization(repository, name="Test merchant", default_country=default_country)
        return Merchant(org_id=org_id, app_key=issue_app_key(repository, org_id), default_country=default_country)

    def api(
        self,
        function: str,
        event_name: str,
        merchant: Merchant | None,
        *,
        body: Any = None,
        raw_body: str | None = None,
        path: str | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        apply_receipts: bool = True,
    ) -> tuple[int, Any, str]:
        """Calls an API function with ``events/<event_name>.json`` adjusted; returns
        (status code, parsed body, raw body)."""
        event = api_event(
            event_name,
            merchant,
            body=body,
            raw_body=raw_body,
            path=path,
            path_parameters=path_parameters,
            query=query,
            headers=headers,
        )
        response = load_function(function).lambda_handler(event, lambda_context())
        raw = response["body"]
        parsed = json.loads(raw) if raw else None
        if function == "receipts" and response["statusCode"] == 200 and apply_receipts:
            # The receipts queue's event source runs receipt-apply right away; the reply says
            # how many receipts it applied, as the one-step endpoint's reply used to.
            parsed["data"]["applied"] = self.apply_queued_receipts().applied
        return response["statusCode"], parsed, raw

    def send(self, merchant: Merchant, body: dict[str, Any]) -> tuple[int, Any]:
        status, parsed, _ = self.api("send", "send-single", merchant, body=body)
        return status, parsed

    def status(self, merchant: Merchant, message_id: str, query: dict[str, str] | None = None) -> tuple[int, Any]:
        status, parsed, _ = self.api(
            "status",
            "status-get",
            merchant,
            path=f"/api/v1/lisoloo/sms-api/status/{message_id}",
            path_parameters={"message_id": message_id},
            query=query,
        )
        return status, parsed

    def receipt(
        self, carrier_ref: str, status: str, *, token: str | None = None, apply: bool = True
    ) -> tuple[int, Any]:
        """Posts a receipt as the sandbox carrier would; with ``apply=False`` it stays queued
        (acknowledged, not yet applied), as when receipt-apply is behind."""
        code, parsed, _ = self.api(
            "receipts",
            "receipts-sandbox",
            None,
            body={"carrier_ref": carrier_ref, "status": status, "error_code": None, "done_at": None},
            headers={"x-carrier-token": token if token is not None else self.carrier_token},
            apply_receipts=apply,
        )
        return code, parsed

    def queued_jobs(self) -> list[dict[str, Any]]:
        """Takes every dispatch job off the queue, as SQS would hand them to Lambda."""
        sqs = boto3.client("sqs")
        records: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
            )
            messages = response.get("Messages", [])
            if not messages:
                return records
            for message in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                records.append(message)

    def dispatch(self, jobs: list[dict[str, Any]]) -> dict[str, Any]:
        """Invokes dispatch with SQS records built from ``events/dispatch-job.json``."""
        template = load_event("dispatch-job")["Records"][0]
        records = []
        for job in jobs:
            record = dict(template)
            record["messageId"] = job.get("MessageId", record["messageId"])
            record["body"] = job["Body"] if "Body" in job else json.dumps(job)
            records.append(record)
        response: dict[str, Any] = load_function("dispatch").lambda_handler({"Records": records}, lambda_context())
        return response

    def dispatch_queued(self) -> dict[str, Any]:
        """Dispatch as its SQS event source runs it (BatchSize 5) over every queued job; returns
        the batch item failures of all its invocations."""
        failed = [identifier for outcome in drain_queue("dispatch") for identifier in sorted(outcome.failed)]
        return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failed]}

    def apply_queued_receipts(self) -> Any:
        return apply_queued_receipts()

    def sweeper(self) -> Any:
        """The sweep as its function runs it, every carrier served by the fake; time moves by
        handing it a later ``now``."""
        from lisoloo.dependencies import dispatch_queue, receipts_queue
        from lisoloo.settings import get_settings
        from lisoloo.sweeping import Sweeper

        return Sweeper(
            repository=self.repository(),
            queue=dispatch_queue(),
            carrier_for=lambda name: self.carrier,
            settings=get_settings(),
            receipts_waiting=receipts_queue().holds_jobs,
        )

    def route_all_to(self, carrier: str) -> None:
        """Every destination through ``carrier`` (a global ``*`` route), served by the fake."""
        from lisoloo import dependencies
        from lisoloo.routing import Route, RouteTarget

        self.carrier.name = carrier
        self.repository().routes.put(Route("*", (RouteTarget(carrier),)), datetime.now(UTC))
        dependencies.route_book.cache_clear()

    def wipe_table(self) -> None:
        """For tests that move time forward: other tests' items must not come due in them."""
        client = boto3.client("dynamodb")
        for page in client.get_paginator("scan").paginate(TableName=self.table_name, ProjectionExpression="PK, SK"):
            keys = page["Items"]
            for start in range(0, len(keys), 25):
                requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
                client.batch_write_item(RequestItems={self.table_name: requests})


def apply_queued_receipts() -> Any:
    """Receipt-apply as its SQS event source runs it (BatchSize 990) over every queued receipt
    job. Returns the summed ``ReceiptSummary`` (receipt-apply's own return value is only the
    failed items); the jobs it failed come back on the next call."""
    from lisoloo.receipts import ReceiptSummary

    module = load_function("receipt_apply")
    apply = module.apply_receipt_jobs
    outcomes: list[Any] = []

    def recorded(*args: Any, **kwargs: Any) -> Any:
        outcomes.append(apply(*args, **kwargs))
        return outcomes[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "apply_receipt_jobs", recorded)
        drain_queue("receipt_apply")
    summary = ReceiptSummary(received=0, applied=0, ignored=0)
    for outcome in outcomes:
        summary += outcome.summary
    return summary


@pytest.fixture
def harness(stack: DeployedStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from lisoloo import dependencies
    from lisoloo.storage import SmsRepository
    from lisoloo_admin.provisioning import register_carrier

    # A fresh container's view of carriers, routes and breakers: none of it leaks between tests.
    for kept in (dependencies.carrier_directory, dependencies.route_book, dependencies.circuit_breakers):
        kept.cache_clear()
    carrier = FakeCarrier()
    monkeypatch.setattr(load_function("dispatch"), "carrier_connector", lambda name: carrier)
    token = register_carrier(SmsRepository(stack.physical_id("SmsTable")), "sandbox")
    harness = Harness(stack=stack, carrier=carrier, carrier_token=token)
    harness.queued_jobs()  # nothing left over from an earlier test
    harness.apply_queued_receipts()  # nor receipts
    yield harness
    repository = harness.repository()
    for route in repository.routes.all():  # routes are global: none outlives its test
        repository.routes.delete(route.org_id, route.match)
    dependencies.route_book.cache_clear()
    for price in repository.prices.all():  # prices are global too
        repository.prices.delete(price.carrier, price.match)
