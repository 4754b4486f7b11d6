"""The TypeScript SDK (clients/node) on the running local stack: its ``node --test`` suite and the
README's quick start, each as a merchant runs it. Skipped only where node or npm is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, LocalStack, admin

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("node") is None or shutil.which("npm") is None,
        reason="node and npm are needed for the TypeScript SDK's tests (clients/node); install Node.js 20+",
    ),
]

PACKAGE = ROOT / "clients" / "node"
# The number the SDK's organization receives replies on (inbound), unused by the other tests.
OUR_NUMBER = "+254711000355"


def run(command: list[str], cwd: Path, environment: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Runs a command; a failure shows its whole output, which is where node reports what broke."""
    result = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def built_package() -> Path:
    """clients/node installed from its lock file and built, as `npm ci` leaves it (prepare builds)."""
    run(["npm", "ci", "--no-audit", "--no-fund"], PACKAGE)
    assert (PACKAGE / "dist" / "index.js").is_file()
    return PACKAGE


def organization(stack: LocalStack, name: str, hook: str) -> tuple[str, dict[str, str]]:
    """A new organization whose webhooks go to the stack's inspector at /hooks/<hook>: its id, and
    the variables a merchant's program reads (as `make run` prints them for the demo one)."""
    inbox = f"{stack.webhook_inspector_url}/hooks/{hook}"
    created = admin(stack, "create-org", name, "--webhook-url", inbox)
    return created["org_id"], {
        "API": stack.base_url,
        "LISOLOO_API_KEY": created["app_key"],
        "LISOLOO_WEBHOOK_SECRET": created["webhook"]["secret"],
        "LISOLOO_TEST_WEBHOOK_INBOX": inbox,
    }


def test_the_sdk_suite_passes_against_the_stack(local_stack: LocalStack, built_package: Path) -> None:
    # Given an organization of the SDK's own (its listings hold only what the suite made), with a
    # number to receive replies on, and one throttled to 1 request a second
    org_id, merchant = organization(local_stack, "Node SDK shop", "node-sdk")
    admin(local_stack, "numbers", "assign", org_id, OUR_NUMBER)
    throttled = admin(local_stack, "create-org", "Node SDK throttled")
    admin(local_stack, "rate-limit", throttled["org_id"], "--rate", "1", "--burst", "2")
    environment = {
        **os.environ,
        **merchant,
        "LISOLOO_TEST_SANDBOX_URLS": f"{local_stack.sandbox_url},{local_stack.sandbox_b_url}",
        "LISOLOO_TEST_OUR_NUMBER": OUR_NUMBER,
        "LISOLOO_TEST_THROTTLED_KEY": throttled["app_key"],
    }
    # When npm test compiles and runs every test file, the stack's among them
    output = run(["npm", "test"], built_package, environment)
    # Then all passed, the stack's suite too (a missing variable would have skipped it)
    assert re.search(r"^# fail 0$", output, flags=re.MULTILINE), output
    assert "# SKIP" not in output, output
    assert "ok 1 - sends, waits for delivery, and verifies the stack's signed webhooks" in output, output


def quick_start() -> str:
    """The ``js`` block of the README's TypeScript quick start."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### From TypeScript") :]
    block = re.search(r"```js\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the README's TypeScript quick start has no js block"
    return block.group(1)


@pytest.fixture
def project() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="lisoloo-quick-start-") as directory:
        yield Path(directory)


def test_the_readme_quick_start_sends_waits_and_verifies(
    local_stack: LocalStack, built_package: Path, project: Path
) -> None:
    # Given a project of the merchant's own that installed the SDK as the README says
    snippet = quick_start()
    assert len([line for line in snippet.splitlines() if line.strip()]) < 10, snippet
    (project / "package.json").write_text(json.dumps({"name": "quick-start", "private": True, "type": "module"}))
    run(["npm", "install", "--no-audit", "--no-fund", str(built_package)], project)
    (project / "quick_start.js").write_text(snippet)
    # And a webhook handler's caller: the stack's deliveries to the organization, through the
    # snippet's handler
    (project / "check.js").write_text(
        'const { onWebhook } = await import("./quick_start.js");\n'
        "const deadline = Date.now() + 20000;\n"
        "let webhooks = [];\n"
        "while (webhooks.length < 4 && Date.now() < deadline) {\n"
        "  webhooks = (await (await fetch(process.env.LISOLOO_TEST_WEBHOOK_INBOX)).json()).webhooks;\n"
        "  await new Promise((resolve) => setTimeout(resolve, 200));\n"
        "}\n"
        "const verified = webhooks.map((webhook) => onWebhook(webhook.body, webhook.headers).type);\n"
        'console.log("verified:", JSON.stringify(verified));\n'
    )
    _, merchant = organization(local_stack, "Quick start shop", "node-quick-start")
    # When it runs
    output = run(["node", "check.js"], project, {**os.environ, **merchant}, timeout=60)
    # Then the text was delivered and each of its signed webhooks verified
    assert "delivered" in output.split("verified:")[0], output
    assert 'verified: ["sms.queued","sms.processing","sms.sent","sms.delivered"]' in output, output
