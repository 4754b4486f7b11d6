"""The web console (console/) in a real browser against the running local stack: Debian's
chromium driven by Playwright (pinned in pyproject.toml, with ``executable_path``: no browser is
downloaded). A merchant signs in, finds a message by its recipient, opens it, sees its timeline,
redelivers an event, adds a suppression and signs out; every page is photographed at a phone's
and a desktop's width (into docs/console/ with LISOLOO_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import LocalStack, admin
from tests.reliability import polite

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PAGES = ("sign-in", "messages", "message", "analytics", "inbound", "suppressions", "balance", "webhooks")
WIDTHS = {"phone": (360, 740), "desktop": (1280, 800)}
# A number of this file's own (the sandbox delivers it: no failing suffix), and the shop's number.
CUSTOMER = "+254712377123"
SHOP_NUMBER = "+254711000377"
# A reference that would run script if the console ever put API values in as HTML.
HOSTILE_REFERENCE = "<img src=x onerror=window.pwned=1>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the console's browser tests need it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shop(local_stack: LocalStack) -> dict[str, str]:
    """An organization of this file's own: a number to be texted, a top-up, and one delivered message."""
    created = admin(local_stack, "create-org", "Console shop")
    admin(local_stack, "numbers", "assign", created["org_id"], SHOP_NUMBER)
    admin(local_stack, "balance", "top-up", created["org_id"], "500.00", "--reference", "INV-7")
    headers = {"app-key": created["app_key"]}
    # Its webhooks go to the stack's inspector, so the deliveries page has attempts to show.
    hook = f"{local_stack.webhook_inspector_url}/hooks/console"
    assert polite.put(f"{local_stack.base_url}/webhook", json={"webhook_url": hook}, headers=headers).status_code == 200
    sent = polite.post(
        f"{local_stack.base_url}/send",
        json={"to": [CUSTOMER], "message": "Your code is 4821", "reference": HOSTILE_REFERENCE},
        headers=headers,
    )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]
    deadline = time.monotonic() + 30
    while polite.get(f"{local_stack.base_url}/status/{message_id}", headers=headers).json()["data"]["status"] != (
        "delivered"
    ):
        assert time.monotonic() < deadline, f"{message_id} was not delivered in 30 s"
        time.sleep(0.3)
    reply = requests.post(
        f"{local_stack.sandbox_url}/mo", json={"from": CUSTOMER, "to": SHOP_NUMBER, "text": "Thanks!"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return {"app_key": created["app_key"], "message_id": message_id}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=dict(zip(("width", "height"), WIDTHS["desktop"], strict=True)))
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the console's scripts failed: {errors}"


def sign_in(page: Page, stack: LocalStack, key: str) -> None:
    page.goto(stack.console_url)
    page.get_by_label("App-key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def photograph(page: Page, name: str, width: str, folder: Path) -> None:
    path = folder / f"{name}-{width}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 5_000, f"{path.name} looks blank"


def test_a_merchant_finds_a_message_redelivers_its_event_and_suppresses_a_number(
    page: Page, local_stack: LocalStack, shop: dict[str, str], tmp_path: Path
) -> None:
    # Given the sign-in page, photographed at both widths
    page.goto(local_stack.console_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    photograph(page, "sign-in", "desktop", tmp_path)
    # When the merchant signs in and searches by the customer's number
    sign_in(page, local_stack, shop["app_key"])
    expect(page.get_by_role("heading", name="Messages")).to_be_focused()
    page.get_by_label("Recipient").fill(CUSTOMER)
    page.get_by_role("button", name="Search").click()
    # Then the message is listed, its hostile reference shown as text and never run
    link = page.get_by_role("link", name=shop["message_id"])
    expect(link).to_be_visible()
    expect(page.get_by_role("cell", name=HOSTILE_REFERENCE)).to_be_visible()
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img").count() == 0
    photograph(page, "messages", "desktop", tmp_path)
    # When it opens the message
    link.click()
    # Then it sees the counters, the recipient and the timeline of its events
    expect(page.get_by_role("heading", name=f"Message {shop['message_id']}")).to_be_visible()
    expect(page.get_by_role("cell", name=CUSTOMER)).to_be_visible()
    timeline = page.locator("ol.timeline > li")
    expect(timeline.filter(has_text="sms.delivered")).to_have_count(1)
    assert timeline.count() >= 3  # queued (or processing), sent, delivered
    photograph(page, "message", "desktop", tmp_path)
    # When it redelivers the delivered event, with the keyboard
    page.get_by_role("button", name="Redeliver sms.delivered").focus()
    page.keyboard.press("Enter")
    # Then the console says it was queued to the organization's webhook
    expect(page.locator("main").get_by_text("sms.delivered queued again to 1 target.")).to_be_visible()

    # When it adds a suppression with a number that is no number, then with a good one
    page.get_by_role("link", name="Suppressions").click()
    page.get_by_label("Number").fill("abc")
    page.get_by_role("button", name="Add suppression").click()
    # Then the API's detail is shown; then the number is listed
    expect(page.get_by_role("alert")).to_contain_text("a phone number holds only digits")
    page.get_by_label("Number").fill("+254712377999")
    page.get_by_label("Reason (optional)").fill("asked by phone")
    page.get_by_role("button", name="Add suppression").click()
    expect(page.locator("main").get_by_text("+254712377999 is suppressed.")).to_be_visible()
    expect(page.get_by_role("cell", name="asked by phone")).to_be_visible()
    photograph(page, "suppressions", "desktop", tmp_path)

    # And the other pages show the shop's data
    expectations = {
        "analytics": page.get_by_role("img", name="Delivery rate per day"),
        "inbound": page.get_by_role("cell", name="Thanks!"),
        "balance": page.get_by_role("cell", name="INV-7"),
        "webhooks": page.get_by_role("cell", name=f"{local_stack.webhook_inspector_url}/hooks/console").first,
    }
    for name, shown in expectations.items():
        page.get_by_role("link", name=name.capitalize()).click()
        expect(shown).to_be_visible()
        photograph(page, name, "desktop", tmp_path)

    # And every page is photographed at a phone's width too, none wider than the screen
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS["phone"], strict=True)))  # type: ignore[arg-type]
    routes = {
        "messages": f"#/messages?recipient={CUSTOMER.replace('+', '%2B')}",
        "message": f"#/messages/{shop['message_id']}",
        **{name: f"#/{name}" for name in ("analytics", "inbound", "suppressions", "balance", "webhooks")},
    }
    for name, route in routes.items():
        page.goto(f"{local_stack.console_url}{route}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"][0], name
        photograph(page, name, "phone", tmp_path)
    page.evaluate("sessionStorage.clear()")
    page.goto(local_stack.console_url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    photograph(page, "sign-in", "phone", tmp_path)
    if os.environ.get("LISOLOO_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for taken in tmp_path.glob("*.png"):
            shutil.copyfile(taken, SCREENSHOTS / taken.name)


def test_the_key_stays_in_the_tab_and_sign_out_or_a_401_ends_the_session(
    page: Page, local_stack: LocalStack, shop: dict[str, str]
) -> None:
    # Given a wrong key: the API's detail, and no session
    sign_in(page, local_stack, "lsk_not-a-key-at-all-0123456789")
    expect(page.get_by_role("alert")).to_contain_text("HTTP 401: Invalid or missing app-key")
    assert page.evaluate("sessionStorage.length") == 0
    # When the right one signs in
    sign_in(page, local_stack, shop["app_key"])
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    # Then the key is in this tab's session storage only: no cookie, nothing in local storage
    assert page.evaluate("Object.values(sessionStorage)") == [shop["app_key"]]
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    # When it signs out, the key is gone and the pages are behind the sign-in again
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.goto(f"{local_stack.console_url}#/balance")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # And a key the API stops accepting mid-session (revoked, say) sends it back to sign in
    sign_in(page, local_stack, shop["app_key"])
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    page.evaluate("sessionStorage.setItem('lisoloo.app-key', 'lsk_revoked-0123456789abcdef')")
    page.get_by_role("link", name="Balance").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Signed out: Invalid or missing app-key.")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_the_readme_shows_each_console_page_at_both_widths() -> None:
    # (LISOLOO_UPDATE_SCREENSHOTS=1 on the test above takes them again)
    readme = (SCREENSHOTS.parents[1] / "README.md").read_text()
    for name in PAGES:
        for width in WIDTHS:
            assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 5_000, (name, width)
        assert f"docs/console/{name}-desktop.png" in readme, name
