"""moto's server on a loopback port, and the process environment that points AWS SDKs at it."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass

from moto.dynamodb import responses as moto_dynamodb_responses
from moto.server import ThreadedMotoServer

from local import moto_speedups

REGION = "us-east-1"


@dataclass
class RunningMoto:
    server: ThreadedMotoServer
    url: str

    def stop(self) -> None:
        self.server.stop()


def start_moto_server() -> RunningMoto:
    # werkzeug logs every request moto serves at INFO: thousands of lines for one send.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto still refuses transactions over 25 items, DynamoDB's limit before 2022 (now 100):
    # receipt-apply writes up to 99 recipients and the message item in one.
    moto_dynamodb_responses.TRANSACTION_MAX_ITEMS = 100
    moto_speedups.back_up_only_touched_items()
    moto_speedups.sqs_reads_queue_once()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    url = f"http://127.0.0.1:{port}"
    _configure(url, {"lambda": {"use_docker": False}})
    return RunningMoto(server=server, url=url)


def _configure(moto_url: str, config: dict[str, object]) -> None:
    """moto-api's config endpoint: ``use_docker: False`` makes moto's Lambda a plain record
    keeper, so it never pulls images or runs the placeholder code; the local stack runs handlers."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback moto server
        f"{moto_url}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def aws_environment(moto_url: str) -> dict[str, str]:
    """What every AWS client in this process needs to talk to moto and nothing else."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
        # botocore ≥ 1.35 puts the account id in endpoints; moto's server expects plain ones
        # (and in-process mock_aws then fails describe_stream, TOOLCHAIN.md).
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        # A developer's own ~/.aws (profile, region, endpoints, SSO) must not leak in.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # No X-Ray daemon here; EMF metrics would print a JSON blob per invocation to stdout.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }


def point_process_at(moto_url: str) -> None:
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(aws_environment(moto_url))
