"""The one set of fake AWS settings, for moto's server and for in-process ``mock_aws``."""

from __future__ import annotations

import os
from typing import Any

import pytest

from local.moto_server import aws_environment, moto_client, moto_environment


def test_in_process_moto_gets_no_endpoint_and_the_environment_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a shell pointing at another endpoint and profile, without a session token
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere.example")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "real-key")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    # When a block runs against in-process moto
    with moto_environment():
        # Then nothing points elsewhere and the fake credentials are set
        assert "AWS_ENDPOINT_URL" not in os.environ
        assert "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] == os.environ["AWS_SESSION_TOKEN"] == "testing"
        assert os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] == "disabled"
        assert os.environ["AWS_CONFIG_FILE"] == os.devnull

    # And afterwards the shell's environment is as it was
    assert os.environ["AWS_ENDPOINT_URL"] == "http://elsewhere.example"
    assert os.environ["AWS_PROFILE"] == "production"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "real-key"
    assert "AWS_SESSION_TOKEN" not in os.environ


def test_a_server_url_becomes_the_endpoint() -> None:
    assert aws_environment("http://127.0.0.1:5000")["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "AWS_ENDPOINT_URL" not in aws_environment()


class _Sent(Exception):
    """Stops a request once signed: nothing listens at the test's endpoint."""


def test_a_client_of_a_moto_server_ignores_this_process_s_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process whose own environment holds real-looking credentials and another region
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "real-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    # When it makes a client of the local stack's moto and sends a request
    client = moto_client("http://127.0.0.1:5000", "sqs")
    signed: list[str] = []

    def stop(request: Any, **_: Any) -> None:
        signed.append(request.headers["Authorization"].decode())
        raise _Sent

    client.meta.events.register("before-send.sqs.ListQueues", stop)
    with pytest.raises(_Sent):
        client.list_queues()

    # Then it went to that server, signed with the stack's fake key for its region
    assert client.meta.endpoint_url == "http://127.0.0.1:5000"
    assert "Credential=testing/" in signed[0] and "/us-east-1/sqs/" in signed[0]
