"""Cold import of each function ÷ ``import boto3``, each in a fresh interpreter.

Each child process gets what Lambda gives a function: the function's folder and the layer on
``sys.path``, the template's Globals as environment, and Lambda's own variables (so
Powertools' Tracer is on, as ``Tracing: Active`` makes it). It times only the import
statement, so interpreter start-up is left out of both sides. Rounds alternate the
baseline and the functions; each figure is the fastest of its rounds (a busy machine only ever
adds time), and the ratio is of those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.stack import ROOT

LAYER = ROOT / "layers" / "core"
FUNCTIONS = ROOT / "functions"

_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


def lambda_environment(function: str) -> dict[str, str]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "",
        # What the Lambda runtime sets.
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"lisoloo-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS / function),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        # The template's Globals.
        "TABLE_NAME": "lisoloo-SmsTable",
        "DISPATCH_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dispatch",
        "IDEMPOTENCY_TABLE_NAME": "lisoloo-IdempotencyTable",
        "WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks",
        "WEBHOOK_ALLOW_LOOPBACK": "false",
        "WEBHOOK_FIRST_RETRY_SECONDS": "30",
        "DELIVERY_TIMEOUT_SECONDS": "86400",
        "CARRIER_RETRY_DELAYS": "0,3600,14400",
        "RETENTION_DAYS": "90",
        "CARRIER": "sandbox",
        "SANDBOX_CARRIER_URL": "",
        "POWERTOOLS_SERVICE_NAME": "lisoloo-sms-api",
        "POWERTOOLS_METRICS_NAMESPACE": "Lisoloo",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    return environment


def _import_seconds(module: str, paths: list[str], environment: dict[str, str]) -> float:
    completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE.format(paths=paths, module=module)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"import {module} failed: {completed.stderr[-2000:]}")
    return float(completed.stdout.strip().splitlines()[-1])


def function_names() -> list[str]:
    return sorted(path.parent.name for path in FUNCTIONS.glob("*/app.py"))


def cold_imports(rounds: int = 5) -> dict[str, Any]:
    names = function_names()
    samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in names}}
    for round_number in range(rounds + 1):  # round 0 warms the bytecode caches
        for name in ["boto3", *names]:
            function_dir = FUNCTIONS / name
            if name == "boto3":
                seconds = _import_seconds("boto3", [], lambda_environment("send"))
            else:
                seconds = _import_seconds("app", [str(function_dir), str(LAYER)], lambda_environment(name))
            if round_number:
                samples[name].append(seconds)
    baseline = min(samples["boto3"])
    snapstart = snapstart_functions()
    return {
        "rounds": rounds,
        "boto3_seconds": baseline,
        "functions": {
            name: {
                "seconds": min(samples[name]),
                "ratio": min(samples[name]) / baseline,
                "snapstart": name in snapstart,
            }
            for name in names
        },
    }


def snapstart_functions() -> set[str]:
    """The functions (by code folder) the template gives SnapStart on published versions:
    their import runs when a version is published, a cold start resumes it from a snapshot."""
    from local.infrastructure import load_template

    template = load_template(ROOT / "template.yaml")
    default = template.get("Parameters", {}).get("SnapStart", {}).get("Default")
    shared = template.get("Globals", {}).get("Function", {}).get("SnapStart", {})
    folders: set[str] = set()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        apply_on = properties.get("SnapStart", shared).get("ApplyOn")
        if apply_on == {"Ref": "SnapStart"}:
            apply_on = default
        if resource.get("Type") == "AWS::Serverless::Function" and apply_on == "PublishedVersions":
            folders.add(str(properties["CodeUri"]).strip("/").rsplit("/", 1)[-1])
    return folders


# What a cold import is made of: ``-X importtime`` self times, summed per family of packages.
_FAMILIES = {
    "boto3": "boto3 + botocore",
    "botocore": "boto3 + botocore",
    "s3transfer": "boto3 + botocore",
    "jmespath": "boto3 + botocore",
    "urllib3": "boto3 + botocore",
    "dateutil": "boto3 + botocore",
    "six": "boto3 + botocore",
    "aws_lambda_powertools": "Powertools",
    "aws_xray_sdk": "X-Ray SDK",
    "wrapt": "X-Ray SDK",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "annotated_types": "pydantic",
    "typing_inspection": "pydantic",
    "typing_extensions": "pydantic",
    "lisoloo": "lisoloo + app",
    "app": "lisoloo + app",
    "phonenumbers": "phonenumbers",
}


def import_breakdown(function: str, rounds: int = 5) -> dict[str, float]:
    """Seconds of one function's cold import per family of packages (``-X importtime`` self
    times, which add up to the whole; fastest of ``rounds``). Everything else is the standard
    library's, which boto3 and Powertools pull in."""
    best: dict[str, float] = {}
    code = f"import sys; sys.path[:0] = {[str(FUNCTIONS / function), str(LAYER)]!r}; import app"
    for _ in range(rounds):
        completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-X", "importtime", "-c", code],
            env=lambda_environment(function),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        families: dict[str, float] = {}
        for line in completed.stderr.splitlines():
            if not line.startswith("import time:") or line.rstrip().endswith("imported package"):
                continue
            self_microseconds, _, module = line.removeprefix("import time:").split("|", 2)
            family = _FAMILIES.get(module.strip().split(".")[0], "standard library and other")
            families[family] = families.get(family, 0.0) + int(self_microseconds) / 1e6
        for family, seconds in families.items():
            best[family] = min(best.get(family, float("inf")), seconds)
    return dict(sorted(best.items(), key=lambda entry: -entry[1]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--breakdown"]:
        for name in sys.argv[2:] or ["status", "sweep"]:
            steps = import_breakdown(name)
            print(f"{name}: " + ", ".join(f"{family} {seconds * 1000:.0f} ms" for family, seconds in steps.items()))
    else:
        print(json.dumps(cold_imports(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
