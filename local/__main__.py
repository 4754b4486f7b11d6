"""``python -m local``: the whole SMS API on this machine until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

from local.console import FunctionOutput, configure_logging
from local.infrastructure import DEFAULT_STACK_NAME
from local.moto_server import aws_environment
from local.settings import LocalSettingsError, read_settings
from local.stack import LocalStack
from local.stack_process import ReadyInfo


def main(argv: list[str] | None = None) -> int:
    settings = read_settings(argv, os.environ)
    configure_logging(settings.verbose)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("local").info("%s received, stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack = LocalStack(settings)
    try:
        ready = stack.start()
        if stopping.is_set():
            return 0
        _print_banner(ready)
        # From here on, standard output is the functions' (their metrics' EMF lines).
        sys.stdout = FunctionOutput(settings.verbose)
        # A short wait in a loop, so the main thread keeps running the signal handlers.
        while not stopping.wait(0.5):
            pass
    except LocalSettingsError as error:
        logging.getLogger("local").error("the local stack cannot start: %s", error)
        return 2
    except Exception:
        logging.getLogger("local").exception("the local stack failed to start")
        return 1
    finally:
        started = time.monotonic()
        stack.stop()
        logging.getLogger("local").info("stopped in %.1f s", time.monotonic() - started)
    return 0


def _print_banner(ready: ReadyInfo) -> None:
    print("\n".join(banner_lines(ready)), flush=True)


def banner_lines(ready: ReadyInfo) -> list[str]:
    """What ``make run`` prints once it serves. The export lines are the README walkthrough's
    own: pasted as they are, every ``curl`` there works."""
    send = (
        """curl -s -X POST $API/send -H "app-key: $LISOLOO_API_KEY" -H 'Content-Type: application/json' """
        """-d '{"to": ["+254712345678"], "message": "hi"}'"""
    )
    return [
        "",
        "Lisoloo SMS API, running locally (moto + local API gateway + sandbox carrier). Ctrl-C stops it.",
        state_line(ready),
        "",
        f"base URL: {ready.base_url}",
        f"app-key: {ready.app_key}",
        "",
        "paste these into your shell (the README's walkthrough uses them):",
        *(f"  {line}" for line in export_lines(ready)),
        "send a message:",
        f"  {send}",
        "follow it:",
        '  curl -s $API/status/<message_id> -H "app-key: $LISOLOO_API_KEY"',
        "",
        f"sandbox carriers: sandbox {ready.sandbox_url} and sandbox-b {ready.sandbox_b_url}, one * route over both",
        '  GET /submissions lists what each received; POST /control \'{"mode": "refuse"}\' to watch a failover;',
        "  POST /mo on sandbox texts one of your numbers as a handset would",
        f"webhooks: the demo organization's events arrive at {ready.demo_webhook_url}",
        f"  watch them: curl -s {ready.demo_webhook_url}",
        f"  signing secret: {ready.demo_webhook_secret}",
        "",
        f"console: {ready.console_url} (sign in with the app-key above)",
        f"API docs (Swagger UI, no app-key needed): {ready.base_url}/docs",
        "operate it (organizations, keys, webhooks, sender ids, rate limits) with the same CLI as in AWS:",
        f"  {_admin_command(ready.moto_url)} create-org 'My shop'",
        "",
        ready.ready_line(),
    ]


def state_line(ready: ReadyInfo) -> str:
    """Whether a restart keeps what was done: said where the stack starts, not discovered."""
    if ready.state_dir is None:
        return (
            "state: in memory only. Ctrl-C forgets every message, organization, app-key, carrier token"
            " and scheduled send (LISOLOO_LOCAL_STATE=DIR keeps them)."
        )
    return (
        f"state: kept in {ready.state_dir}: saved at Ctrl-C, restored at the next start"
        " (queued jobs, the sandbox's pending receipts and the inspector's log are not kept)."
    )


def export_lines(ready: ReadyInfo) -> list[str]:
    """The README walkthrough's variables: the API, the demo app-key, and, for its money steps,
    the demo organization and the operator's CLI against this stack (``$ADMIN prices set ...``;
    ``env`` because a variable's expansion is never read as an assignment)."""
    return [
        f"export API={ready.base_url}",
        f"export LISOLOO_API_KEY={ready.app_key}",
        f"export LISOLOO_ORG={ready.org_id}",
        f'export ADMIN="env {_admin_command(ready.moto_url)}"',
    ]


def _admin_command(moto_url: str) -> str:
    # The few of the stack's own fake settings a shell needs to reach its moto.
    environment = aws_environment(moto_url)
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    assignments = " ".join(f"{name}={environment[name]}" for name in names)
    return f"{assignments} .venv/bin/lisoloo-admin --stack {DEFAULT_STACK_NAME}"


if __name__ == "__main__":
    sys.exit(main())
