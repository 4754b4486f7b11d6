"""The one set of fake AWS settings, for moto's server and for in-process ``mock_aws``."""

from __future__ import annotations

import os

import pytest

from local.moto_server import aws_environment, moto_environment


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
