"""moto for the local stack: in this process for the stack's own clients, and its server on a
loopback port for everyone else (the CLI, tests, a developer's own scripts), over the same
backends, so both see one state.

The stack's functions and pollers make most of the AWS calls; in this process, with no HTTP
between them and moto, a call costs about a third of what it costs through the server
(TOOLCHAIN.md: ~240 against ~120 DynamoDB calls a second from one thread, and more with the
speed-ups). The handlers' AWS code is the same either way: botocore builds and signs the same
request, and moto answers it, here before it would have gone on the wire."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb import responses as moto_dynamodb_responses
from moto.server import ThreadedMotoServer

from local import moto_speedups

REGION = "us-east-1"


@dataclass
class RunningMoto:
    server: ThreadedMotoServer
    in_process: Any  # moto's mock_aws, started
    url: str

    def stop(self) -> None:
        self.server.stop()
        self.in_process.stop()


def prepare_moto() -> None:
    """What every use of moto here needs: its limits as DynamoDB's, and the speed-ups."""
    # moto still refuses transactions over 25 items, DynamoDB's limit before 2022 (now 100):
    # receipt-apply writes up to 99 recipients and the message item in one.
    moto_dynamodb_responses.TRANSACTION_MAX_ITEMS = 100
    moto_speedups.back_up_only_touched_items()
    moto_speedups.sqs_reads_queue_once()


def start_moto() -> RunningMoto:
    """moto in this process (``mock_aws``) and its server on 127.0.0.1, sharing one state: call
    :func:`point_process_at` with no URL afterwards, so this process's clients stay in it."""
    # werkzeug logs every request moto serves at INFO.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    prepare_moto()
    # Whole-table sorts and per-attribute size sums are moto's costs, not DynamoDB's; the
    # 400 KB item check stays (skip_item_size_resumming is the bench's alone).
    moto_speedups.query_within_partition()
    moto_speedups.attribute_values_as_they_are()
    moto_speedups.expressions_parsed_once()
    moto_speedups.simple_updates_applied_directly()
    # use_docker False: moto's Lambda is a plain record keeper, it never pulls images or runs the
    # placeholder code; the local stack runs the handlers.
    in_process = mock_aws(config={"lambda": {"use_docker": False}})
    in_process.start()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    return RunningMoto(server=server, in_process=in_process, url=f"http://127.0.0.1:{port}")


def aws_environment(moto_url: str | None = None) -> dict[str, str]:
    """What every AWS client in this process needs to talk to moto and nothing else: moto's
    server at ``moto_url``, or with none, moto's in-process ``mock_aws`` (the tests, the bench).
    The one list of the fake settings: the local stack, the tests and the bench all use it."""
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
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
    if moto_url is not None:
        environment["AWS_ENDPOINT_URL"] = moto_url
    return environment


def moto_client(moto_url: str, service: str) -> Any:
    """A client of the moto server at ``moto_url`` with the same fake settings, whatever this
    process's environment says (a bench or test process beside the local stack)."""
    environment = aws_environment(moto_url)
    session = boto3.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environment["AWS_SESSION_TOKEN"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )
    return session.client(service, endpoint_url=moto_url)


def _unwanted(moto_url: str | None) -> tuple[str, ...]:
    """Variables that would point clients elsewhere: a profile always, and an endpoint when
    ``mock_aws`` answers in-process (a leftover AWS_ENDPOINT_URL would bypass it)."""
    return ("AWS_PROFILE",) if moto_url is not None else ("AWS_PROFILE", "AWS_ENDPOINT_URL")


def point_process_at(moto_url: str | None = None) -> None:
    """For good: the local stack's and the bench's process talk to moto only."""
    for name in _unwanted(moto_url):
        os.environ.pop(name, None)
    os.environ.update(aws_environment(moto_url))


@contextmanager
def moto_environment(moto_url: str | None = None) -> Iterator[None]:
    """:func:`point_process_at` for the block, then the environment as it was (tests)."""
    names = (*aws_environment(moto_url), *_unwanted(moto_url))
    saved = {name: os.environ.get(name) for name in names}
    point_process_at(moto_url)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
