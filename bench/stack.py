"""The real handlers on in-process moto, driven the way API Gateway, SQS, the table's stream
and a carrier would drive them (as ``tests/integration``'s Harness does), with every AWS
request counted by an :class:`AwsMeter`.

What Lambda's own plumbing bills is done through counted clients too: the SQS event source
mapping's ReceiveMessage and DeleteMessageBatch per batch. What it does not bill is read
uncounted: stream records (GetRecords from a Lambda trigger is free). Bench set-up (tenants,
carriers, bulk items) runs under ``meter.paused()``. Sample events and the API Gateway
requests made from them come from ``local.sample_events``, as the tests'.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from local.sample_events import api_event, load_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # botocore >= 1.44 with in-process moto: DynamoDB Streams answer 404 without this (TOOLCHAIN).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}
# Handlers log errors only; their INFO lines would flood the bench's output.
QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}
# The template's batch sizes for the event sources the bench plays.
DISPATCH_BATCH = 5
WEBHOOK_DELIVERY_BATCH = 5
STREAM_BATCH = 100


@dataclass
class LambdaContext:
    function_name: str = "bench"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/bench"
    log_stream_name: str = "bench"
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class Merchant:
    org_id: str
    app_key: str
    default_country: str = "KE"


class FakeCarrier:
    """Accepts every submission and echoes our reference as its own, like the sandbox; the
    bench then posts one receipt per recipient, as a carrier's DLR callbacks would."""

    name = "sandbox"
    receipt_acknowledgement: str | None = None

    def __init__(self, on_call: Callable[[], None]) -> None:
        self.accepted: list[str] = []
        self._on_call = on_call

    def submit(self, submissions: Sequence[Any]) -> list[Any]:
        from lisoloo.carriers import SubmitOutcome, SubmitResult

        self._on_call()
        self.accepted.extend(submission.reference for submission in submissions)
        return [SubmitResult(s.reference, SubmitOutcome.ACCEPTED, carrier_ref=s.reference) for s in submissions]

    def parse_receipts(self, request: Any) -> list[Any]:
        raise AssertionError("receipts go through the real sandbox connector")

    def take(self) -> list[str]:
        taken, self.accepted = self.accepted, []
        return taken


class WebhookEndpoint:
    """A merchant's webhook URL on 127.0.0.1 that answers 204 to everything."""

    def __init__(self) -> None:
        self.received = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.received += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/bench"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class InProcessStack:
    """template.yaml deployed into ``mock_aws``; the functions imported with its environment."""

    def __init__(self) -> None:
        from moto import mock_aws

        from bench.capacity import IndexShape, TableShape
        from bench.counting import AwsMeter
        from local import moto_speedups

        moto_speedups.install()
        os.environ.update(AWS_ENVIRONMENT)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        self._mock = mock_aws(config={"lambda": {"use_docker": False}})
        self._mock.start()

        def shape(table: str) -> TableShape:
            description = self.aws("dynamodb").describe_table(TableName=table)["Table"]
            indexes = tuple(
                IndexShape(
                    name=index["IndexName"],
                    key_attributes=tuple(key["AttributeName"] for key in index["KeySchema"]),
                    projection=index["Projection"]["ProjectionType"],
                    included=tuple(index["Projection"].get("NonKeyAttributes", ())),
                )
                for index in description.get("GlobalSecondaryIndexes", [])
            )
            return TableShape(tuple(key["AttributeName"] for key in description["KeySchema"]), indexes)

        self.meter = AwsMeter(self.read_item, shape)
        self.meter.install()
        from local.infrastructure import deploy_template

        with self.meter.paused():
            self.deployed = deploy_template(
                TEMPLATE, {"SandboxCarrierUrl": "http://127.0.0.1:9", "WebhookAllowLoopback": "true"}
            )
        for function in self.deployed.functions.values():
            os.environ.update(function.environment)
        os.environ.update(QUIET)
        self.table_name = self.deployed.physical_id("SmsTable")
        self.dispatch_queue_url = self.deployed.physical_id("DispatchQueue")
        self.webhook_queue_url = self.deployed.physical_id("WebhookDeliveriesQueue")
        self._functions: dict[str, ModuleType] = {}
        self._clients: dict[str, Any] = {}
        self._uncounted: dict[str, Any] = {}
        self.carrier = FakeCarrier(on_call=lambda: self.meter.add(_count_carrier_call))
        self.endpoint = WebhookEndpoint()
        self._stream = _StreamTap(self)
        dispatch = self.function("dispatch")
        dispatch.carrier_connector = lambda name: self.carrier  # type: ignore[attr-defined]
        with self.meter.paused():
            from lisoloo.provisioning import register_carrier

            self.carrier_token = register_carrier(self.repository(), "sandbox")
            self._stream.skip()

    def stop(self) -> None:
        self.endpoint.stop()
        self._mock.stop()

    # --- AWS access ---------------------------------------------------------------------------

    def aws(self, service: str) -> Any:
        """A client that is never counted (its session's hooks are removed)."""
        if service not in self._uncounted:
            import boto3

            session = boto3.Session()
            for event in ("before-parameter-build", "before-call", "after-call"):
                for handler in (self.meter._before, self.meter._started, self.meter._after):
                    session.events.unregister(event, handler)
            self._uncounted[service] = session.client(service)
        return self._uncounted[service]

    def counted(self, service: str) -> Any:
        """A client on boto3's default session, as the functions' own."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service)
        return self._clients[service]

    def read_item(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """An item as stored, straight from moto's backend (no request, nothing counted)."""
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.deployed.account_id][self.deployed.region]
        item = backend.get_item(table, dict(key))
        return item.to_json()["Attributes"] if item is not None else None

    def moto_table(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.deployed.account_id][self.deployed.region].get_table(self.table_name)

    def repository(self) -> Any:
        from lisoloo.storage import SmsRepository

        return SmsRepository(self.table_name, self.aws("dynamodb"))

    # --- functions ----------------------------------------------------------------------------

    def function(self, name: str) -> ModuleType:
        if name not in self._functions:
            spec = importlib.util.spec_from_file_location(
                f"bench_function_{name}", ROOT / "functions" / name / "app.py"
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._functions[name] = module
        return self._functions[name]

    def invoke(self, name: str, event: dict[str, Any], context: LambdaContext | None = None) -> Any:
        self.meter.add(lambda tally: tally.invocations.update([name]))
        return self.function(name).lambda_handler(event, context or LambdaContext(function_name=name))

    def api(
        self,
        function: str,
        event_name: str,
        merchant: Merchant | None,
        *,
        body: Any = None,
        path: str | None = None,
        path_parameters: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One API Gateway request to ``function`` (``events/<event_name>.json`` adjusted)."""
        event = api_event(event_name, merchant, body=body, path=path, path_parameters=path_parameters, headers=headers)
        self.meter.add(lambda tally: tally.api_requests.update([function]))
        response = self.invoke(function, event)
        raw = response["body"]
        return response["statusCode"], json.loads(raw) if raw else None

    def authorize(self, merchant: Merchant) -> None:
        """API Gateway calls the authorizer once per app-key and caches the policy (300 s)."""
        event = load_event("authorizer-request")
        event["headers"]["app-key"] = merchant.app_key
        event["multiValueHeaders"]["app-key"] = [merchant.app_key]
        policy = self.invoke("authorizer", event)
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow", policy

    def send(self, merchant: Merchant, numbers: list[str], text: str = "Your code is 4821") -> tuple[int, Any]:
        return self.api("send", "send-single", merchant, body={"to": numbers, "message": text})

    def status(self, merchant: Merchant, message_id: str) -> tuple[int, Any]:
        return self.api(
            "status",
            "status-get",
            merchant,
            path=f"/api/v1/lisoloo/sms-api/status/{message_id}",
            path_parameters={"message_id": message_id},
        )

    def receipt(self, reference: str, status: str) -> tuple[int, Any]:
        return self.api(
            "receipts",
            "receipts-sandbox",
            None,
            body={"carrier_ref": reference, "status": status},
            headers={"x-carrier-token": self.carrier_token},
        )

    # --- event sources ------------------------------------------------------------------------

    def poll_queue(self, queue_url: str, function: str, batch_size: int) -> int:
        """Lambda's SQS event source mapping: receive a batch, invoke, delete what succeeded;
        until the queue is empty. Returns the invocations."""
        sqs = self.counted("sqs")
        template = load_event("dispatch-job")["Records"][0]
        invocations = 0
        while True:
            # Lambda's poller receives up to 10 a request and fills a batch with several.
            messages: list[dict[str, Any]] = []
            while len(messages) < batch_size:
                received = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(10, batch_size - len(messages)),
                    AttributeNames=["All"],
                    VisibilityTimeout=30,
                ).get("Messages", [])
                messages.extend(received)
                if not received:
                    break
            if not messages:
                return invocations
            records = [
                {
                    **template,
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {**template["attributes"], **message.get("Attributes", {})},
                }
                for message in messages
            ]
            response = self.invoke(function, {"Records": records})
            invocations += 1
            failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}
            if failed:
                raise RuntimeError(f"{function} failed {len(failed)} of {len(records)} records: {response}")
            for start in range(0, len(messages), 10):
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages[start : start + 10])
                    ],
                )

    def dispatch_all(self) -> int:
        return self.poll_queue(self.dispatch_queue_url, "dispatch", DISPATCH_BATCH)

    def queue_sources(self) -> list[tuple[str, str, int]]:
        """(queue URL, function folder, batch size) of every SQS event source in the template,
        so a queue added later (a receipts buffer, say) is drained without changing the bench."""
        sources = []
        for function in self.deployed.functions.values():
            for event in function.events:
                if event.type != "SQS":
                    continue
                queue = event.properties["Queue"]
                logical_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) and "Fn::GetAtt" in queue else None
                if logical_id is None:
                    continue
                batch = int(self.deployed.resolve(event.properties.get("BatchSize", 10)))
                sources.append((self.deployed.physical_id(logical_id), function.code_dir.name, batch))
        return sources

    def drain(self) -> int:
        """Every event source until nothing is left: the stream trigger and each SQS queue (in
        the template's order), as Lambda would run them. Returns the invocations."""
        total = 0
        while True:
            invocations = self.fan_out()
            for queue_url, function, batch in self.queue_sources():
                invocations += self.poll_queue(queue_url, function, batch)
            if not invocations:
                return total
            total += invocations

    def fan_out(self) -> int:
        """The stream trigger: new message-item records (the template's filter), 100 a batch."""
        records = self._stream.new_message_records()
        invocations = 0
        for start in range(0, len(records), STREAM_BATCH):
            response = self.invoke("webhooks", {"Records": records[start : start + STREAM_BATCH]})
            if response.get("batchItemFailures"):
                raise RuntimeError(f"webhooks fan-out failed: {response}")
            invocations += 1
        return invocations

    def deliver_webhooks(self) -> int:
        return self.poll_queue(self.webhook_queue_url, "webhook_delivery", WEBHOOK_DELIVERY_BATCH)

    def settle_webhooks(self) -> None:
        self.fan_out()
        self.deliver_webhooks()

    def purge_dispatch_queue(self) -> None:
        """Drops queued dispatch jobs straight in moto (PurgeQueue allows one call a minute)."""
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.deployed.account_id][self.deployed.region]
        backend.get_queue(self.dispatch_queue_url.rsplit("/", 1)[1]).last_purged_at = None
        backend.purge_queue(self.dispatch_queue_url.rsplit("/", 1)[1])

    # --- tenants ------------------------------------------------------------------------------

    def new_merchant(self, *, webhook: bool = True) -> Merchant:
        from lisoloo.provisioning import create_organization, issue_app_key
        from lisoloo.settings import get_settings
        from lisoloo.webhooks.subscriptions import configure_webhook

        with self.meter.paused():
            repository = self.repository()
            org_id = create_organization(repository, name="Bench merchant", default_country="KE")
            app_key = issue_app_key(repository, org_id)
            if webhook:
                configure_webhook(repository, org_id, self.endpoint.url, get_settings(), datetime.now(UTC))
            self._stream.skip()
        return Merchant(org_id=org_id, app_key=app_key)


def _count_carrier_call(tally: Any) -> None:
    tally.carrier_calls += 1


class _StreamTap:
    """Reads the table's stream from where it last stopped, straight from moto's backend
    (Lambda's stream reads are free, and moto's GetRecords would cost the bench minutes), and
    hands back what the webhooks trigger's filter passes, in Lambda's record shape."""

    def __init__(self, stack: InProcessStack) -> None:
        self._stack = stack
        self._position = 0
        self._arn = stack.aws("dynamodb").describe_table(TableName=stack.table_name)["Table"]["LatestStreamArn"]

    def _shard_items(self) -> list[Any]:
        shard = self._stack.moto_table().stream_shard
        items: list[Any] = shard.items if shard is not None else []
        return items

    def skip(self) -> None:
        self._position = len(self._shard_items())

    def new_message_records(self) -> list[dict[str, Any]]:
        items = self._shard_items()
        fresh, self._position = items[self._position :], len(items)
        records = []
        for stream_record in fresh:
            record = stream_record.record
            image = record["dynamodb"].get("NewImage")
            if not image or image.get("kind", {}).get("S") != "message":
                continue
            records.append(
                {
                    **record,
                    "eventSourceARN": self._arn,
                    "dynamodb": {**record["dynamodb"], "ApproximateCreationDateTime": int(time.time())},
                }
            )
        return records
