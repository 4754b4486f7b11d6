"""The local stack refuses settings the functions would refuse, before it deploys anything,
and tells the functions how often its sweep really runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local.settings import LocalSettings, read_settings, retry_timing_problem

ROOT = Path(__file__).resolve().parents[2]


def settings_from(environ: dict[str, str]) -> LocalSettings:
    return read_settings([], environ)


def test_the_readme_example_of_fast_retries_is_accepted() -> None:
    # Given the README's own example of a quick local retry schedule
    (example,) = re.findall(r"^(LISOLOO_CARRIER_RETRY_DELAYS=\S+ .*) make run$", (ROOT / "README.md").read_text(), re.M)
    environ = dict(assignment.split("=", 1) for assignment in example.split())
    settings = settings_from(environ)
    parameters = {"DeliveryTimeoutSeconds": environ["LISOLOO_DELIVERY_TIMEOUT_SECONDS"]}
    parameters["CarrierRetryDelays"] = environ["LISOLOO_CARRIER_RETRY_DELAYS"]
    # Then it works together
    assert retry_timing_problem(settings, parameters) is None


@pytest.mark.parametrize(
    ("timeout", "delays", "sweep", "named"),
    [
        ("16", "0,5,15", "2", "DeliveryTimeoutSeconds (16)"),  # 15 + a 2 s sweep > 16
        ("30", "5,15", "2", "must start with 0"),
        ("30", "0,15,5", "2", "must increase"),
        ("30", "0,five", "2", "whole seconds"),
        ("600", "0,60", "0.5", None),  # half-second sweeps count as 1 s
    ],
)
def test_impossible_timing_is_named_with_the_local_variables(
    timeout: str, delays: str, sweep: str, named: str | None
) -> None:
    settings = settings_from({"LISOLOO_LOCAL_SWEEP_SECONDS": sweep})
    problem = retry_timing_problem(settings, {"DeliveryTimeoutSeconds": timeout, "CarrierRetryDelays": delays})
    if named is None:
        assert problem is None
    else:
        assert problem is not None and named in problem


def test_the_functions_count_the_local_sweep_period_in_whole_seconds() -> None:
    assert settings_from({"LISOLOO_LOCAL_SWEEP_SECONDS": "2"}).sweep_period_seconds == 2
    assert settings_from({"LISOLOO_LOCAL_SWEEP_SECONDS": "0.2"}).sweep_period_seconds == 1
    assert settings_from({}).sweep_period_seconds == 5


def test_make_run_refuses_a_timeout_shorter_than_the_retries_and_says_why() -> None:
    # Given a timeout that ends before the last carrier attempt could be made
    environ = {
        **os.environ,
        "LISOLOO_DELIVERY_TIMEOUT_SECONDS": "10",
        "LISOLOO_CARRIER_RETRY_DELAYS": "0,5,15",
        "LISOLOO_LOCAL_PORT": "0",
    }
    # When the local stack starts
    result = subprocess.run(
        [sys.executable, "-m", "local"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    # Then it stops at once with the reason and the variables to change, not a traceback
    assert result.returncode == 2
    assert "cannot start: DeliveryTimeoutSeconds (10)" in result.stderr
    assert "LISOLOO_DELIVERY_TIMEOUT_SECONDS=10" in result.stderr
    assert "Traceback" not in result.stderr
