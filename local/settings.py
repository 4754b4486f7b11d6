"""The local stack's knobs: command-line options, with environment variables as defaults."""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local.sandbox_carrier import ReceiptDelays

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


class LocalSettingsError(ValueError):
    """Settings that cannot work together: the stack refuses to start and says why."""


@dataclass(frozen=True)
class LocalSettings:
    port: int = 3000
    # How often Schedule events fire locally (the sweep), whatever rate the template says.
    schedule_seconds: float = 5.0
    # How long the sandbox carriers wait before posting a receipt (LOW,MEDIAN,HIGH seconds).
    receipt_delays: ReceiptDelays = field(default_factory=ReceiptDelays)
    # The template's DeliveryTimeoutSeconds; None keeps the template's default.
    delivery_timeout_seconds: int | None = None
    # The template's CarrierRetryDelays ("0,1,2": seconds after the first attempt); None keeps its default.
    carrier_retry_delays: str | None = None
    verbose: bool = False
    # Execution environments a function may run at once here: the template's limits (reserved
    # concurrency, an SQS source's MaximumConcurrency) when lower. One process shares its
    # cores between them, so beyond a few they only wait on each other.
    concurrency: int = 1
    # How long the gateway waits for a client to send a whole request (or its next one).
    read_timeout_seconds: float = 30.0
    # Where the stack keeps its tables across restarts (None: in memory only).
    state_dir: Path | None = None
    template_path: Path = REPOSITORY_ROOT / "template.yaml"
    # Further template parameters (NAME=VALUE), e.g. for knobs added to the template later.
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def sweep_period_seconds(self) -> int:
        """The sweep's period as the functions count it (whole seconds, rounded up)."""
        return max(1, math.ceil(self.schedule_seconds))


def retry_timing_problem(settings: LocalSettings, parameters: Mapping[str, str]) -> str | None:
    """Why the stack's delivery timeout, carrier retry delays and sweep period cannot work
    together (the functions would refuse to start), or None. ``parameters`` are the template
    parameters the stack deploys with, defaults included."""
    from lisoloo.deadlines import retry_timing_problem as problem_with  # the layer's own rule

    try:
        timeout = int(parameters["DeliveryTimeoutSeconds"])
        delays = [int(delay) for delay in parameters["CarrierRetryDelays"].split(",")]
    except (KeyError, ValueError) as error:
        return f"DeliveryTimeoutSeconds and CarrierRetryDelays must be whole seconds ({error})"
    problem = problem_with(timeout, delays, settings.sweep_period_seconds)
    if problem is None:
        return None
    return (
        f"{problem}. Locally: LISOLOO_DELIVERY_TIMEOUT_SECONDS={timeout}, "
        f"LISOLOO_CARRIER_RETRY_DELAYS={','.join(map(str, delays))}, "
        f"LISOLOO_LOCAL_SWEEP_SECONDS={settings.schedule_seconds:g}"
    )


def read_settings(argv: Sequence[str] | None, environ: Mapping[str, str]) -> LocalSettings:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="The whole SMS API on this machine: moto, a local gateway, pollers, a sandbox carrier.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(environ.get("LISOLOO_LOCAL_PORT", "3000")),
        help="gateway port (0 picks a free one); env LISOLOO_LOCAL_PORT",
    )
    parser.add_argument("--template", type=Path, default=REPOSITORY_ROOT / "template.yaml")
    parser.add_argument(
        "--parameter",
        action="append",
        default=shlex.split(environ.get("LISOLOO_LOCAL_PARAMETERS", "")),
        metavar="NAME=VALUE",
        help="a template parameter override (repeatable); env LISOLOO_LOCAL_PARAMETERS='A=1 B=2'",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=environ.get("LISOLOO_LOCAL_VERBOSE", "") not in ("", "0", "false"),
        help="request log and the handlers' INFO logs; env LISOLOO_LOCAL_VERBOSE=1",
    )
    options = parser.parse_args(argv)
    overrides: dict[str, str] = {}
    for entry in options.parameter:
        name, separator, value = entry.partition("=")
        if not separator:
            parser.error(f"--parameter {entry!r}: expected NAME=VALUE")
        overrides[name] = value
    timeout = environ.get("LISOLOO_DELIVERY_TIMEOUT_SECONDS")
    return LocalSettings(
        port=options.port,
        schedule_seconds=float(environ.get("LISOLOO_LOCAL_SWEEP_SECONDS", "5")),
        receipt_delays=ReceiptDelays.parse(environ.get("LISOLOO_SANDBOX_RECEIPT_DELAY", "1.5,3,20")),
        delivery_timeout_seconds=int(timeout) if timeout else None,
        concurrency=max(1, int(environ.get("LISOLOO_LOCAL_CONCURRENCY", "1"))),
        carrier_retry_delays=environ.get("LISOLOO_CARRIER_RETRY_DELAYS") or None,
        read_timeout_seconds=float(environ.get("LISOLOO_LOCAL_READ_TIMEOUT_SECONDS", "30")),
        verbose=options.verbose,
        state_dir=Path(environ["LISOLOO_LOCAL_STATE"]).expanduser() if environ.get("LISOLOO_LOCAL_STATE") else None,
        template_path=options.template,
        parameter_overrides=overrides,
    )
