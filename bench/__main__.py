"""``make bench``: every scenario of the performance budget, one table, ``docs/benchmarks.md``.

    python -m bench                  # run, print the table, rewrite the generated part of the doc
    python -m bench --save-baseline  # also keep these figures as the "before" column
    python -m bench --quick          # 1,000 instead of 10,000 recipients (a smoke run)

Counts come from botocore event hooks (``bench.counting``); timings only ever appear as ratios
of two measurements taken alternately in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.stack import ROOT
from local.console import quiet_libraries

BASELINE = ROOT / "bench" / "baseline.json"
DOC = ROOT / "docs" / "benchmarks.md"
PARTIAL = ROOT / "bench" / "partial-run.json"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The handlers' metric lines (EMF goes to stdout) and Powertools' warnings, silenced."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _progress(message: str, started: float, results: dict[str, Any] | None = None) -> None:
    print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)
    if results is not None:  # what is measured so far survives an interrupted run
        PARTIAL.write_text(json.dumps(results, indent=1, default=str))


def run(big: int, *, local: bool = True) -> dict[str, Any]:
    from bench import imports, local_stack, money, personal_texts, routing, scenarios

    started = time.perf_counter()
    results: dict[str, Any] = {"big": big}
    with _quiet():
        from bench.stack import InProcessStack

        stack = InProcessStack()
        try:
            results["memory_mb"] = max(function.memory_mb for function in stack.deployed.functions.values())
            results["lifecycle"] = {}
            for count in (1, 100, big):
                results["lifecycle"][str(count)] = scenarios.lifecycle(stack, count)
                _progress(f"lifecycle of {count}", started, results)
            results["status"] = scenarios.status_ratio(
                stack, results["lifecycle"][str(big)], results["lifecycle"]["100"]
            )
            _progress("status ratio", started, results)
            results["send"] = scenarios.send_ratio(stack, big=big)
            _progress("send ratio", started, results)
            results["sweep"] = scenarios.sweep(stack)
            _progress("sweep", started, results)
            results["receipt_flood"] = scenarios.receipt_flood(stack)
            _progress("receipt flood", started, results)
            results["suppression_reads"] = scenarios.suppression_reads(stack)
            _progress("suppression reads", started, results)
            results["find"] = scenarios.find_messages(stack)
            _progress("find messages", started, results)
            results["personal_texts"] = personal_texts.personal_texts(stack)
            _progress("personal texts", started, results)
            results["routing"] = {"failover": routing.failover(stack), "pacing": routing.pacing(stack)}
            _progress("routing", started, results)
            results["money"] = {"overhead": money.money_overhead(stack, big), "latency": money.send_latency(stack, big)}
            _progress("money", started, results)
        finally:
            stack.stop()
    results["imports"] = imports.cold_imports()
    _progress("cold imports", started, results)
    if not local:
        return results
    try:
        results["local"] = local_stack.run(big=big)
    except Exception as error:  # a slow or broken local stack is a row that says so, not a crash
        results["local"] = {"error": f"{type(error).__name__}: {error}"[:300]}
    _progress("local stack", started)
    return results


def _commit() -> str:
    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return completed.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{commit} (with uncommitted changes)" if git("status", "--porcelain") else commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 recipients instead of 10,000")
    parser.add_argument("--save-baseline", action="store_true", help="keep these figures as the 'before' column")
    parser.add_argument("--from-json", type=Path, help="render figures saved earlier instead of running")
    parser.add_argument("--skip-local", action="store_true", help="in-process scenarios only (no local stack)")
    parser.add_argument("--output", type=Path, default=DOC, help="the markdown file to update (default: %(default)s)")
    arguments = parser.parse_args(argv)
    quiet_libraries()

    started = time.perf_counter()
    if arguments.from_json:
        figures = json.loads(arguments.from_json.read_text())
    else:
        cpu = time.process_time()
        figures = run(1_000 if arguments.quick else 10_000, local=not arguments.skip_local)
        figures["run"] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}",
            "python": platform.python_version(),
            "commit": _commit(),
            "seconds": round(time.perf_counter() - started),
            "cpu_seconds": round(time.process_time() - cpu),
        }
    (ROOT / "bench" / "last-run.json").write_text(json.dumps(figures, indent=1, default=str))
    if arguments.save_baseline:
        BASELINE.write_text(json.dumps(figures, indent=1, default=str))
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    rows = report.rows(figures)
    before = report.rows(baseline) if baseline is not None and not arguments.save_baseline else None
    print(report.text_table(rows, before))
    print(report.price_line())
    print(f"{figures['run']['date']} · {figures['run']['machine']} · Python {figures['run']['python']}", end="")
    print(f" · {figures['run']['commit']} · {figures['run']['seconds']} s")
    report.write_markdown(arguments.output, figures, rows, baseline, before)
    print(
        f"written: {arguments.output.relative_to(ROOT) if arguments.output.is_relative_to(ROOT) else arguments.output}"
    )
    return 0  # a measurement: goals missed show as "fail" rows, they do not fail the target


if __name__ == "__main__":
    sys.exit(main())
