"""Opt-out links on the running local stack (DESIGN §12), as the recipient meets them: the link
in the text the carrier got, the page over HTTP, and the page in a real browser (headless
Chromium at a phone's size), then the merchant's next send failing 1406."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import LocalStack, admin, sandbox_submissions
from tests.e2e.test_two_way import final_of_a_send

pytestmark = pytest.mark.e2e

CUSTOMER = "+254712345600"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/api/v1/lisoloo/sms-api/u/[A-Za-z0-9_-]{12}")
# A small phone's screen, in CSS pixels.
PHONE = (360, 640)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "opt-out-page.png"


def link_sent(stack: LocalStack, key: str, sender_id: str | None = None) -> str:
    """Sends a text with ``{{opt_out_url}}`` to CUSTOMER; the link in the text the carrier got."""
    body = {"to": [CUSTOMER], "message": "Flash sale! Stop: {{opt_out_url}}"}
    if sender_id:
        body["sender_id"] = sender_id
    sent = requests.post(f"{stack.base_url}/send", json=body, headers={"app-key": key}, timeout=10)
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        texts = [entry["text"] for entries in sandbox_submissions(stack, message_id).values() for entry in entries]
        if texts:
            match = LINK.search(texts[0])
            assert match is not None, texts
            return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"{message_id} never reached the sandbox")


def chromium(*arguments: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the page's browser check needs it")
    width, height = PHONE
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_link_opts_out_on_post_only_and_the_next_send_fails_1406(local_stack: LocalStack) -> None:
    # Given a merchant's text with an opt-out link, as the customer's handset got it
    key = admin(local_stack, "create-org", "Link shop")["app_key"]
    link = link_sent(local_stack, key)
    # When the link is opened (as an SMS app's preview would, too)
    page = requests.get(link, timeout=10)
    # Then it asks to confirm, and nothing changed yet: a send still goes out
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Stop messages from Link shop?" in page.text
    assert final_of_a_send(local_stack, key)["status"] == "delivered"
    # When the customer confirms, as the form posts (twice: a double tap)
    done = requests.post(link, data="", headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    again = requests.post(link, timeout=10)
    # Then it is done once, and the merchant's next send fails 1406 without reaching the carrier
    assert (done.status_code, again.status_code) == (200, 200)
    assert "You will get no more messages from Link shop." in done.text
    assert "Already done" in again.text
    data = final_of_a_send(local_stack, key)
    assert (data["status"], data["error_code"]) == ("failed", 1406)
    # And a link that never was is a plain 404 page
    missing = requests.get(link[:-12] + "AAAAAAAAAAAA", timeout=10)
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_the_page_renders_its_button_in_chromium_at_a_phones_size(local_stack: LocalStack, tmp_path: Path) -> None:
    # Given a live link
    created = admin(local_stack, "create-org", "Browser shop")
    link = link_sent(local_stack, created["app_key"])
    # When headless Chromium opens it at 360 x 640
    dom = chromium("--dump-dom", link).stdout
    screenshot = tmp_path / "opt-out-page.png"
    chromium(f"--screenshot={screenshot}", link)
    # Then the page it built has the question and a POST form with its button (no script needed)
    assert "Stop messages from Browser shop?" in dom
    assert re.search(r'<form method="post"><button type="submit">Yes, stop messages</button></form>', dom), dom
    assert "<script" not in dom
    # And it drew the page at the phone's size
    assert png_size(screenshot) == PHONE
    assert screenshot.stat().st_size > 2_000  # not a blank image
    if os.environ.get("LISOLOO_UPDATE_SCREENSHOTS"):
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)  # the README's picture, taken here
    # And opening it changed nothing: the number is not suppressed
    listed = requests.get(
        f"{local_stack.base_url}/suppressions", headers={"app-key": created["app_key"]}, timeout=10
    ).json()
    assert listed["data"]["suppressions"] == []


def test_the_readme_shows_the_pages_screenshot() -> None:
    # (LISOLOO_UPDATE_SCREENSHOTS=1 on the test above takes it again)
    assert png_size(DOCS_SCREENSHOT) == PHONE
    assert "docs/opt-out-page.png" in (DOCS_SCREENSHOT.parents[1] / "README.md").read_text()
