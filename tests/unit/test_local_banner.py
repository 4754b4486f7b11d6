"""What ``make run`` prints is what the README's walkthrough asks for: its export lines,
pasted into a shell, give every ``curl`` there the right URL and key."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from local.__main__ import banner_lines, export_lines
from local.stack_process import ReadyInfo

README = Path(__file__).resolve().parents[2] / "README.md"
BASE_URL = "http://127.0.0.1:3000/api/v1/lisoloo/sms-api"
READY = ReadyInfo(
    base_url=BASE_URL,
    app_key="lsk_demo0123456789abcdef",
    second_app_key="lsk_other0123456789abcdef",
    carrier_token="ct_sandbox0123456789",
    sandbox_url="http://127.0.0.1:3001",
    moto_url="http://127.0.0.1:5000",
    webhook_inspector_url="http://127.0.0.1:3002",
    demo_webhook_url="http://127.0.0.1:3002/hooks/demo",
    demo_webhook_secret="whsec_demo",
    org_id="org_0123456789abcdef",
)


def walkthrough() -> str:
    text = README.read_text()
    return text[text.index("## A walk through the API") : text.index("### Sandbox numbers")]


def test_the_readme_walkthrough_sets_exactly_what_the_banner_prints() -> None:
    readme_exports = re.findall(r'^export (\w+)=("[^"]*"|\S+)$', walkthrough(), flags=re.MULTILINE)
    printed = [tuple(line.removeprefix("export ").split("=", 1)) for line in export_lines(READY)]
    # The same variables in the same order, and the README shows the printed URL itself.
    assert [name for name, _ in readme_exports] == [name for name, _ in printed]
    assert dict(readme_exports)["API"] == BASE_URL
    used = set(re.findall(r"\$(\w+)", walkthrough()))
    assert used <= {name for name, _ in printed}, f"the walkthrough uses unset variables: {used}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_printed_lines_pasted_into_a_shell_build_working_urls() -> None:
    lines = banner_lines(READY)
    pasted = [line.strip() for line in lines if line.strip().startswith("export ")]
    assert pasted == export_lines(READY)
    script = "\n".join([*pasted, 'echo "$API/send $LISOLOO_API_KEY $LISOLOO_ORG"', "printf '%s\\n' $ADMIN"])
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    # And $ADMIN, unquoted as the money walkthrough uses it, splits into env, the settings, the CLI
    assert out.split() == [
        f"{BASE_URL}/send",
        READY.app_key,
        READY.org_id,
        "env",
        f"AWS_ENDPOINT_URL={READY.moto_url}",
        *[line for line in out.split() if line.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_DEFAULT"))],
        ".venv/bin/lisoloo-admin",
        "--stack",
        "lisoloo-local",
    ]


def test_the_banner_keeps_the_base_url_and_app_key_lines_scripts_look_for() -> None:
    text = "\n".join(banner_lines(READY))
    # The first URL printed is the API's, and the key follows "app-key:".
    assert re.search(r"https?://[\w.:]+", text).group(0) == "http://127.0.0.1:3000"  # type: ignore[union-attr]
    assert f"base URL: {BASE_URL}" in text
    assert f"app-key: {READY.app_key}" in text


def test_the_banner_says_the_state_is_in_memory_and_what_a_restart_forgets() -> None:
    # Given a stack started without LISOLOO_LOCAL_STATE
    # When it prints its banner
    text = "\n".join(banner_lines(READY))
    # Then it says, where it starts, that Ctrl-C loses everything, and how to keep it
    line = next(line for line in text.splitlines() if line.startswith("state: "))
    assert "in memory" in line
    for lost in ("message", "organization", "app-key", "carrier token", "scheduled send"):
        assert lost in line
    assert "LISOLOO_LOCAL_STATE=DIR" in line


def test_the_banner_names_the_state_directory_when_there_is_one() -> None:
    text = "\n".join(banner_lines(replace(READY, state_dir="/tmp/lisoloo-state")))
    assert "state: kept in /tmp/lisoloo-state" in text
    assert "in memory" not in text
