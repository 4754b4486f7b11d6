"""The carriers ring: connectors against loopback fakes of Jasmin and a REST aggregator, and
against a real Kannel (skipped, with the reason, when Kannel is not installed).

``kannel`` runs bearerbox, smsbox and fakesmsc for a module; ``kannel_stack`` adds our
local stack (``python -m local``) configured to submit through Kannel, with the carrier's
token registered and its secrets in the stack's SSM (moto), as an operator would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.stack_process import local_stack_process
from tests.carriers.kannel import PASSWORD, SECOND_SMSC, USERNAME, RunningKannel, free_port, missing_kannel

STARTUP_TIMEOUT_SECONDS = 90
SECRETS_PREFIX = "lisoloo/test/carriers"


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKannel]:
    reason = missing_kannel()
    if reason:
        if os.environ.get("LISOLOO_REQUIRE_KANNEL"):  # make test-carriers promises the real thing
            pytest.fail(reason)
        pytest.skip(reason)
    running = RunningKannel(tmp_path_factory.mktemp("kannel"))
    try:
        yield running.start()
    finally:
        running.stop()


@dataclass(frozen=True)
class KannelStack:
    base_url: str
    app_key: str
    moto_url: str
    kannel: RunningKannel
    stderr: Path

    def logs(self) -> str:
        """The local stack's log tail, then Kannel's: for a failing test's message."""
        return f"--- local stack\n{self.stderr.read_text(errors='replace')[-4000:]}\n{self.kannel.logs()}"

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def kannel_stack(kannel: RunningKannel) -> Iterator[KannelStack]:
    port = free_port()
    logs = kannel.directory / "local-stack"
    logs.mkdir(exist_ok=True)
    base_url = f"http://127.0.0.1:{port}/api/v1/lisoloo/sms-api"
    parameters = {
        "Carrier": "kannel",
        "KannelSendsmsUrl": kannel.sendsms_url,
        "KannelUsername": USERNAME,
        "CarrierSenderId": "LISOLOO",
        "ReceiptsBaseUrl": base_url,
        "CarrierSecretsPrefix": SECRETS_PREFIX,
    }
    environment = {
        **os.environ,
        "LISOLOO_LOCAL_SWEEP_SECONDS": "1",
        "LISOLOO_LOCAL_PARAMETERS": " ".join(f"{name}={value}" for name, value in parameters.items()),
        "LISOLOO_LOCAL_VERBOSE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with (
        (logs / "stdout.log").open("w+") as stdout,
        (logs / "stderr.log").open("w+") as stderr,
        local_stack_process(environment, stdout, stderr, port=port, timeout=STARTUP_TIMEOUT_SECONDS) as ready,
    ):
        assert ready.base_url == base_url, ready
        stack = KannelStack(
            base_url=base_url,
            app_key=ready.app_key,
            moto_url=ready.moto_url,
            kannel=kannel,
            stderr=logs / "stderr.log",
        )
        _provision_kannel(stack)
        yield stack


def _provision_kannel(stack: KannelStack) -> None:
    """What an operator does once: issue the carrier's receipt token (only its hash is
    stored) and put it, with the sendsms password, in the carrier's secrets document."""
    from lisoloo.routing import CarrierConfig, CarrierType, Route, RouteTarget
    from lisoloo.storage import SmsRepository
    from lisoloo_admin.provisioning import register_carrier

    dynamodb = stack.aws("dynamodb")
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if "SmsTable" in name]
    repository = SmsRepository(table, client=dynamodb)
    token = register_carrier(repository, "kannel")
    stack.aws("ssm").put_parameter(
        Name=f"/{SECRETS_PREFIX}/kannel",
        Value=json.dumps({"password": PASSWORD, "receipt_token": token}),
        Type="SecureString",
        Overwrite=True,
    )
    # The second SMSC link as a carrier of its own (DESIGN §8), serving +25473 by prefix;
    # everything else keeps the implicit route (Carrier=kannel). Set before anything is
    # dispatched: a dispatcher keeps the routes it read for 30 s.
    now = datetime.now(UTC)
    repository.carriers.add(
        CarrierConfig(
            "kannel-b", CarrierType.KANNEL, url=stack.kannel.sendsms_url, username=USERNAME, smsc=SECOND_SMSC
        ),
        now,
    )
    repository.routes.put(Route("+25473", (RouteTarget("kannel-b"),)), now)
    stack.aws("ssm").put_parameter(
        Name=f"/{SECRETS_PREFIX}/kannel-b",
        Value=json.dumps({"password": PASSWORD, "receipt_token": register_carrier(repository, "kannel-b")}),
        Type="SecureString",
        Overwrite=True,
    )
