"""The README's money walkthrough, run as written on the local stack (DESIGN §10): the block
under "Money" is read from README.md and each line is run in bash after the ``export`` lines
``make run`` prints, so a README that drifts from the stack fails here."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.__main__ import export_lines
from tests.e2e.conftest import ROOT, LocalStack, admin

pytestmark = pytest.mark.e2e


def money_walkthrough() -> list[str]:
    """The commands of the first ``sh`` block of the README's Money section, comments dropped."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Money: prices, balances and the 402s") :]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the Money section has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def run(stack: LocalStack, line: str) -> str:
    """One README line in bash, after the banner's exports, from the repository's directory."""
    script = "\n".join([*export_lines(stack), line])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 0, (line, result.stderr)
    return result.stdout


@pytest.fixture
def kenya_free_afterwards(local_stack: LocalStack) -> Iterator[None]:
    """The walkthrough prices Kenya; other tests in the session send there with no balance."""
    yield
    if any(row["match"] == "KE" and row["carrier"] is None for row in admin(local_stack, "prices", "list")):
        admin(local_stack, "prices", "delete", "KE")


def test_the_readme_money_walkthrough_works_on_a_fresh_stack(
    local_stack: LocalStack, kenya_free_afterwards: None
) -> None:
    # Given a local stack as make run starts it, and the README's Money walkthrough
    lines = money_walkthrough()
    assert [line.split()[:3] for line in lines if line.startswith("$ADMIN")][:2] == [
        ["$ADMIN", "prices", "set"],
        ["$ADMIN", "balance", "top-up"],
    ]
    outputs: list[Any] = []
    message_id = ""
    # When each line runs as written (the status line polled until the message is final)
    for line in lines:
        if "<message_id>" in line:
            line = line.replace("<message_id>", message_id)
            deadline = time.monotonic() + 30
            while True:
                status = json.loads(run(local_stack, line))
                if status["data"]["cost"]["charged"] is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            outputs.append(status)
            continue
        out = run(local_stack, line)
        parsed = json.loads(out) if line.startswith("curl") else out
        if line.startswith("curl") and "/send" in line and "data" in parsed:
            message_id = parsed["data"]["message_id"]
        outputs.append(parsed)
    curls = [output for line, output in zip(lines, outputs, strict=True) if line.startswith("curl")]
    # Then the balance shows the top-up, the send is quoted 0.80 and charged 0.80 once delivered
    balance, sent, status, refused, ledger = curls
    assert balance["data"] == {
        "currency": "KES",
        "balance": "2.00",
        "reserved": "0.00",
        "credit_limit": "0.00",
        "available": "2.00",
    }
    assert sent["data"]["cost"] == {"currency": "KES", "estimate": "0.80"}
    assert (status["data"]["status"], status["data"]["cost"]) == (
        "delivered",
        {"currency": "KES", "charged": "0.80"},
    )
    # And the send it cannot cover is the 402 the README shows
    assert refused == {"detail": "Insufficient balance"}
    # And the merchant's ledger lists the top-up, the reservation and its settlement, newest first
    kinds = [(entry["kind"], entry["amount"]) for entry in ledger["data"]["entries"]]
    assert sorted(kinds[:2]) == [("charge", "0.80"), ("release", "0.00")]
    assert kinds[2:] == [("reserve", "0.80"), ("top_up", "2.00")]
    # And the account holds exactly that: 2.00 in, 0.80 charged, 1.20 left
    shown = admin(local_stack, "balance", "show", local_stack.org_id)
    assert (shown["balance"], shown["reserved"], shown["charged"]) == ("1.20", "0.00", "0.80")
    # And the last line left Kenya free again for everything else
    assert all(row["match"] != "KE" for row in admin(local_stack, "prices", "list"))
