"""The real handlers on in-process moto, driven the way API Gateway, SQS, the table's stream
and a carrier would drive them, with every AWS request counted by an :class:`AwsMeter`. The
functions, and Lambda's SQS and stream event sources, are ``local.runner``'s, as in
``tests/integration``; sample events and API Gateway requests are ``local.sample_events``'.

What Lambda's own plumbing bills is done through counted clients too: the SQS event source
mapping's ReceiveMessage and DeleteMessageBatch per batch. What it does not bill is read
uncounted: stream records (GetRecords from a Lambda trigger is free). Bench set-up (tenants,
carriers, bulk items) runs under ``meter.paused()``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.runner import Poller
from local.sample_events import api_event, load_event

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

# Handlers log errors only; their INFO lines would flood the bench's output.
QUIET = {"POWERTOOLS_LOG_LEVEL": "ERROR"}
# No invocation is cut short (Lambda's own ceiling): in-process moto is far slower than
# DynamoDB, and the bench measures requests, not time.
TIMEOUT_SECONDS = 900


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
        from local.infrastructure import deploy_template
        from local.lambda_runtime import merged_environment
        from local.moto_server import point_process_at
        from local.runner import InProcessRunner
        from local.sqs_poller import SqsPoller
        from local.stream_poller import StreamPoller

        moto_speedups.install()
        point_process_at()
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
        self._uncounted: dict[str, Any] = {}
        with self.meter.paused():
            self.deployed = deploy_template(
                TEMPLATE, {"SandboxCarrierUrl": "http://127.0.0.1:9", "WebhookAllowLoopback": "true"}
            )
        os.environ.update(merged_environment(self.deployed.functions.values()))
        os.environ.update(QUIET)
        self.table_name = self.deployed.physical_id("SmsTable")
        self.dispatch_queue_url = self.deployed.physical_id("DispatchQueue")
        self.runner = InProcessRunner(
            self.deployed, stream_session=self.meter.uncounted_session(), timeout_seconds=TIMEOUT_SECONDS
        )
        self.carrier = FakeCarrier(on_call=lambda: self.meter.add(_count_carrier_call))
        self.endpoint = WebhookEndpoint()
        dispatch = self.runner.module(self.runner.logical_id("dispatch"))
        dispatch.carrier_connector = lambda name: self.carrier  # type: ignore[attr-defined]
        with self.meter.paused():
            from lisoloo_admin.provisioning import register_carrier

            self.carrier_token = register_carrier(self.repository(), "sandbox")
            # Every SQS and stream source in the template (a queue added later is drained without
            # changing the bench): the stream trigger first, then the queues in the template's order.
            pollers = self.runner.pollers()
            self._streams = [poller for poller in pollers if isinstance(poller, StreamPoller)]
            queues = [poller for poller in pollers if isinstance(poller, SqsPoller)]
            self._event_sources: list[Poller] = [*self._streams, *queues]
            self._skip_stream()

    def stop(self) -> None:
        self.endpoint.stop()
        self._mock.stop()

    # --- AWS access ---------------------------------------------------------------------------

    def aws(self, service: str) -> Any:
        """A client that is never counted."""
        if service not in self._uncounted:
            self._uncounted[service] = self.meter.uncounted_session().client(service)
        return self._uncounted[service]

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

    def invoke(self, name: str, event: dict[str, Any], *, timeout_seconds: float | None = None) -> Any:
        """Invokes ``functions/<name>`` (with ``timeout_seconds`` to run, if given); its result."""
        self.meter.add(lambda tally: tally.invocations.update([name]))
        invocation = self.runner.invoke(self.runner.logical_id(name), event, timeout_seconds=timeout_seconds)
        if invocation.error is not None:
            error = invocation.error
            raise RuntimeError(f"{name} failed: {error.error_type}: {error.message}\n{error.trace}")
        return invocation.result

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
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One API Gateway request to ``function`` (``events/<event_name>.json`` adjusted)."""
        event = api_event(
            event_name, merchant, body=body, path=path, path_parameters=path_parameters, headers=headers, query=query
        )
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

    def drain(self) -> int:
        """Every event source until nothing is left, as Lambda would run them. Returns the invocations."""
        return self._deliver(self._event_sources)

    def dispatch_all(self) -> int:
        return self._deliver(self.runner.pollers(self.runner.logical_id("dispatch")))

    def _deliver(self, pollers: Sequence[Poller]) -> int:
        """The runner's drain of ``pollers``, each invocation counted; a failure stops the bench."""
        outcomes = self.runner.drain(pollers)
        names = [self.deployed.functions[outcome.function].code_dir.name for outcome in outcomes]
        self.meter.add(lambda tally: tally.invocations.update(names))
        for name, outcome in zip(names, outcomes, strict=True):
            if outcome.failed:
                raise RuntimeError(f"{name} failed {len(outcome.failed)} of {len(outcome.records)} records: {outcome}")
        return len(outcomes)

    def _skip_stream(self) -> None:
        """Set-up writes never reach the stream trigger (the bench measures scenarios only)."""
        for stream in self._streams:
            stream.skip_to_latest()

    def purge_dispatch_queue(self) -> None:
        """Drops queued dispatch jobs straight in moto (PurgeQueue allows one call a minute)."""
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.deployed.account_id][self.deployed.region]
        backend.get_queue(self.dispatch_queue_url.rsplit("/", 1)[1]).last_purged_at = None
        backend.purge_queue(self.dispatch_queue_url.rsplit("/", 1)[1])

    # --- tenants ------------------------------------------------------------------------------

    def new_merchant(self, *, webhook: bool = True) -> Merchant:
        from lisoloo.settings import get_settings
        from lisoloo.webhooks.subscriptions import configure_webhook
        from lisoloo_admin.provisioning import create_organization, issue_app_key

        with self.meter.paused():
            repository = self.repository()
            org_id = create_organization(repository, name="Bench merchant", default_country="KE")
            app_key = issue_app_key(repository, org_id)
            if webhook:
                configure_webhook(repository, org_id, self.endpoint.url, get_settings(), datetime.now(UTC))
            self._skip_stream()
        return Merchant(org_id=org_id, app_key=app_key)


def _count_carrier_call(tally: Any) -> None:
    tally.carrier_calls += 1
