"""The README's Python quick start, run as written on the local stack: the block under "From
Python, in under ten lines" is read from README.md, given the base URL, app-key and signing
secret ``make run`` prints, and run; its webhook handler then checks a delivery the stack made."""

from __future__ import annotations

import contextlib
import io
import re
import time
from typing import Any

import pytest
import requests

from lisoloo_client import WebhookVerificationError
from tests.e2e.conftest import ROOT, LocalStack

pytestmark = pytest.mark.e2e


def quick_start() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### From Python, in under ten lines") :]
    block = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the Python quick start has no python block"
    return block.group(1)


def test_the_readme_python_quick_start_sends_waits_and_verifies(local_stack: LocalStack) -> None:
    # Given the README's snippet, under ten lines, with what make run printed in its placeholders
    snippet = quick_start()
    assert len([line for line in snippet.splitlines() if line.strip()]) < 10
    assert "pip install ./clients/python" in (ROOT / "README.md").read_text()
    runnable = (
        snippet.replace("http://127.0.0.1:3000/api/v1/lisoloo/sms-api", local_stack.base_url)
        .replace("lsk_...", local_stack.app_key)
        .replace("whsec_...", local_stack.demo_webhook_secret)
    )
    # When it runs
    printed = io.StringIO()
    names: dict[str, Any] = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(runnable, "README.md", "exec"), names)  # noqa: S102 - the README's own code, run as a reader would
    # Then the text was delivered, as its comment says
    assert printed.getvalue().strip() == "delivered 1"
    # And its webhook handler verifies the delivered event the stack sent for it
    message_id = names["sent"].message_id
    deadline = time.monotonic() + 20
    while True:
        received = requests.get(local_stack.demo_webhook_url, timeout=10).json()["webhooks"]
        ours = [hook for hook in received if message_id in hook["body"] and "sms.delivered" in hook["body"]]
        if ours or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert ours, "no sms.delivered webhook for the README's message"
    assert names["on_webhook"](ours[0]["body"].encode(), ours[0]["headers"]) == "sms.delivered"
    # And a forged one is refused
    with pytest.raises(WebhookVerificationError):
        names["on_webhook"](ours[0]["body"].replace("delivered", "failed").encode(), ours[0]["headers"])
