"""The whole local stack in one process, started in dependency order and stopped in reverse.

moto → sandbox carrier (its URL is a template parameter) → the stack from template.yaml →
the functions, imported with the stack's environment → the gateway → demo tenants (they need
the table) → receipts configured on the sandbox → pollers and clocks (last, so nothing is
dispatched before the sandbox knows where to post receipts).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import boto3

from local.api_gateway import ApiGateway
from local.api_model import RestApi, base_path, read_rest_apis
from local.bootstrap import DemoTenants, create_demo_tenants, point_demo_webhook, route_sandboxes
from local.console_site import CONSOLE_PATH, console_pages
from local.event_sources import BackgroundWorker, build_workers
from local.infrastructure import deploy_template, load_template
from local.lambda_runtime import load_functions
from local.moto_server import RunningMoto, point_process_at, start_moto
from local.openapi import docs_pages
from local.progress import MessageTally, ProgressReporter, queue_depths
from local.sandbox_carrier import SandboxCarrier
from local.settings import LocalSettings, LocalSettingsError, retry_timing_problem
from local.stack_process import ReadyInfo
from local.state import SavedState, load_state, restore_tables, save_state, scan_tables
from local.stream_poller import StreamPoller
from local.throttling import TokenBuckets, organization_limits
from local.webhook_inspector import WebhookInspector

logger = logging.getLogger("local.stack")

TABLE_LOGICAL_ID = "SmsTable"
SANDBOX_CARRIER = "sandbox"
# The second sandbox: a `*` route over both shows failover on one machine (DESIGN §8).
SECOND_SANDBOX_CARRIER = "sandbox-b"


# The API's base path, under which the opt-out page is served (template.yaml's routes).
OPT_OUT_BASE_PATH = "/api/v1/lisoloo/sms-api"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalStack:
    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self._moto: RunningMoto | None = None
        self._sandbox: SandboxCarrier | None = None
        self._sandbox_b: SandboxCarrier | None = None
        self._gateway: ApiGateway | None = None
        self._workers: list[BackgroundWorker] = []
        self._inspector: WebhookInspector | None = None
        # Set once the stack serves, for saving its state at stop (LISOLOO_LOCAL_STATE).
        self._tables: dict[str, str] = {}
        self._tenants: DemoTenants | None = None
        self._port = settings.port

    def start(self) -> ReadyInfo:
        started = time.monotonic()
        # Read first: a state that cannot be read stops the start before anything runs.
        saved = load_state(self.settings.state_dir) if self.settings.state_dir else None
        self._moto = start_moto()
        # This process's own clients (the functions, the pollers) reach moto in-process.
        point_process_at()

        self._sandbox = SandboxCarrier(receipt_delay=self.settings.receipt_delays, seed=1)
        self._sandbox.start()
        self._sandbox_b = SandboxCarrier(receipt_delay=self.settings.receipt_delays, seed=2)
        self._sandbox_b.start()
        self._inspector = self._start_inspector(saved)

        declared = load_template(self.settings.template_path).get("Parameters", {})
        # The gateway's port, chosen now when any free one will do: opt-out links made at send
        # name it, and the functions read their settings before the gateway serves.
        self._port = self.settings.port or _free_port()
        parameters = self._parameters(self._sandbox.url, self._moto.url, declared)
        self._refuse_impossible_timing(parameters, declared)
        stack = deploy_template(self.settings.template_path, parameters)
        logger.info("stack %s created from %s", stack.stack_name, self.settings.template_path.name)
        tables = {
            logical_id: stack.physical_id(logical_id)
            for logical_id, resource_type in stack.resource_types.items()
            if resource_type == "AWS::DynamoDB::Table"
        }
        if saved is not None:
            restore_tables(_dynamodb(), tables, saved.tables)
            logger.info("restored %d items from %s", saved.item_count, self.settings.state_dir)

        functions = load_functions(
            stack.functions.values(),
            overrides=self._environment_overrides(),
            concurrency={
                logical_id: min(self.settings.concurrency, spec.reserved_concurrency or self.settings.concurrency)
                for logical_id, spec in stack.functions.items()
            },
        )
        tally = MessageTally()
        self._workers = build_workers(
            stack,
            functions,
            schedule_seconds=self.settings.schedule_seconds,
            observe_stream=tally.observe,
            stream_start="LATEST" if saved is not None else None,
        )
        # Stream pollers take their positions before the gateway takes a request: a restored
        # stack's LATEST is then past its restored items (no webhook replayed) and before any new one.
        streams = [worker for worker in self._workers if isinstance(worker, StreamPoller)]
        for poller in streams:
            poller.start()

        apis = read_rest_apis(stack.template, stack.parameters)
        routes = tuple(route for api in apis.values() for route in api.routes)
        self._gateway = ApiGateway(
            apis,
            functions,
            api_ids={logical_id: stack.physical_id(logical_id) for logical_id in apis},
            account_id=stack.account_id,
            region=stack.region,
            throttle=self._throttle(apis, stack.physical_id(TABLE_LOGICAL_ID)),
            log_requests=self.settings.verbose,
            pages={**docs_pages(base_path(routes)), **console_pages()},
            read_timeout=self.settings.read_timeout_seconds,
        )
        self._gateway.start(port=self._port)
        base_url = self._gateway.url + base_path(self._gateway.routes)

        demo_hook = self._inspector.hook_url("demo")
        table_name = stack.physical_id(TABLE_LOGICAL_ID)
        if saved is None:
            tenants = create_demo_tenants(table_name, SANDBOX_CARRIER, webhook_url=demo_hook)
        else:
            tenants = saved.demo
            if self._inspector.port != saved.inspector_port:
                point_demo_webhook(table_name, tenants, demo_hook)
        self._sandbox.configure_receipts(
            f"{base_url}/receipts/{SANDBOX_CARRIER}",
            tenants.carrier_token,
            inbound_url=f"{base_url}/inbound/{SANDBOX_CARRIER}",
        )
        tokens = route_sandboxes(
            table_name,
            {SANDBOX_CARRIER: self._sandbox.url, SECOND_SANDBOX_CARRIER: self._sandbox_b.url},
            # Only when the stack's own carrier is the sandbox: a stack run with Carrier=kannel
            # (tests/carriers) keeps its implicit route, as an upgraded deployment does.
            star_route=effective_parameter("Carrier", parameters, declared) == SANDBOX_CARRIER,
        )
        self._sandbox_b.configure_receipts(
            f"{base_url}/receipts/{SECOND_SANDBOX_CARRIER}",
            tokens[SECOND_SANDBOX_CARRIER],
            inbound_url=f"{base_url}/inbound/{SECOND_SANDBOX_CARRIER}",
        )

        self._workers.append(ProgressReporter(tally, queue_depths(stack), self._sandbox.counts))
        for worker in self._workers:
            if worker not in streams:
                worker.start()
        self._tables, self._tenants = tables, tenants
        logger.info("local stack up in %.1f s", time.monotonic() - started)
        return ReadyInfo(
            base_url=base_url,
            app_key=tenants.app_key,
            second_app_key=tenants.second_app_key,
            carrier_token=tenants.carrier_token,
            sandbox_url=self._sandbox.url,
            moto_url=self._moto.url,
            webhook_inspector_url=self._inspector.url,
            demo_webhook_url=self._inspector.hook_url("demo"),
            demo_webhook_secret=tenants.webhook_secret,
            state_dir=str(self.settings.state_dir) if self.settings.state_dir else None,
            sandbox_b_url=self._sandbox_b.url,
            org_id=tenants.org_id,
            console_url=f"{self._gateway.url}{CONSOLE_PATH}/",
        )

    def _start_inspector(self, saved: SavedState | None) -> WebhookInspector:
        """On its previous port when restoring: webhook URLs in the table name it."""
        inspector = WebhookInspector()
        if saved is not None:
            try:
                inspector.start(port=saved.inspector_port)
                return inspector
            except OSError:
                logger.warning(
                    "port %d is taken: webhooks set to the inspector before this restart go nowhere now",
                    saved.inspector_port,
                )
        inspector.start()
        return inspector

    def _save_state(self) -> None:
        if self.settings.state_dir is None or self._tenants is None or self._inspector is None:
            return
        tables = scan_tables(_dynamodb(), self._tables)
        save_state(
            self.settings.state_dir,
            SavedState(demo=self._tenants, inspector_port=self._inspector.port, tables=tables),
        )
        logger.info("state saved to %s (%d items)", self.settings.state_dir, sum(map(len, tables.values())))

    @staticmethod
    def _throttle(apis: Mapping[str, RestApi], table_name: str) -> TokenBuckets | None:
        """The usage plan's throttle from the template, with organizations' own limits from the
        table (lisoloo-admin rate-limit), as API Gateway applies them per API key."""
        plan = next((api.usage_plan_throttle for api in apis.values() if api.usage_plan_throttle), None)
        if plan is None:
            return None
        return TokenBuckets(plan.rate_per_second, plan.burst, limits_for=organization_limits(table_name))

    def _parameters(self, sandbox_url: str, moto_url: str, declared: Mapping[str, Any]) -> dict[str, str]:
        # Loopback webhooks are allowed here only: the inspector and tests' receivers live there.
        wanted = {"SandboxCarrierUrl": sandbox_url, "WebhookAllowLoopback": "true"}
        # Export links are signed for moto's server, so they open from this machine's browser.
        wanted["ExportsDownloadEndpoint"] = moto_url
        # {{opt_out_url}} links open this stack's own page, from this machine's browser.
        wanted["OptOutBaseUrl"] = f"http://127.0.0.1:{self._port}{OPT_OUT_BASE_PATH}"
        if self.settings.delivery_timeout_seconds is not None:
            wanted["DeliveryTimeoutSeconds"] = str(self.settings.delivery_timeout_seconds)
        if self.settings.carrier_retry_delays is not None:
            wanted["CarrierRetryDelays"] = self.settings.carrier_retry_delays
        wanted.update(self.settings.parameter_overrides)
        # A setting for a parameter the template does not (yet) declare is skipped, not fatal:
        # settings and the template evolve separately, and the stack is still worth running.
        for name in sorted(set(wanted) - set(declared)):
            logger.warning("template.yaml declares no parameter %s; its setting is ignored", name)
        return {name: value for name, value in wanted.items() if name in declared}

    def _refuse_impossible_timing(self, parameters: Mapping[str, str], declared: Mapping[str, Any]) -> None:
        # Checked before anything deploys: otherwise every function's init would fail, one by one.
        effective = {name: str(spec.get("Default", "")) for name, spec in declared.items()} | dict(parameters)
        problem = retry_timing_problem(self.settings, effective)
        if problem is not None:
            raise LocalSettingsError(problem)

    def _environment_overrides(self) -> dict[str, str]:
        # The sweep's period here is LISOLOO_LOCAL_SWEEP_SECONDS, not the template's minute.
        overrides = {"SWEEP_PERIOD_SECONDS": str(self.settings.sweep_period_seconds)}
        # The template's log level is for CloudWatch; a terminal wants warnings only, unless asked.
        if not self.settings.verbose:
            overrides["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        return overrides

    def stop(self) -> None:
        """Stops whatever started, in reverse order; a part that fails to stop does not keep
        the others running."""
        for worker in reversed(self._workers):
            with suppress(Exception):
                worker.stop()
        if self._gateway is not None:
            with suppress(Exception):
                self._gateway.stop()
        # Nothing of the stack's own writes any more; the CLI could, but a stop is a stop.
        try:
            self._save_state()
        except Exception:
            logger.exception("the state could not be saved to %s; the previous one is kept", self.settings.state_dir)
        for part in (self._inspector, self._sandbox, self._sandbox_b, self._moto):
            if part is not None:
                with suppress(Exception):
                    part.stop()


def effective_parameter(name: str, parameters: Mapping[str, str], declared: Mapping[str, Any]) -> str:
    """A template parameter's value for this stack: the override, else the template's default."""
    return parameters.get(name, str(declared.get(name, {}).get("Default", "")))


def _dynamodb() -> Any:
    # This process's client: in-process moto (point_process_at), no HTTP.
    return boto3.client("dynamodb")
