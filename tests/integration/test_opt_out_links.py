"""Opt-out links (DESIGN §12) through the real handlers: a send with ``{{opt_out_url}}``, dispatch
writing each link, the public page (GET never opts out, POST does, once), the suppression and
``sms.opted_out``, and what another organization sees of it (nothing)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from lisoloo.opting_out import TOKEN_LENGTH
from lisoloo.sweeping import Sweeper
from tests.conftest import api_event, lambda_context
from tests.integration.conftest import Harness, Merchant, load_function
from tests.integration.test_webhooks import configure, deliver_queued, drain_webhook_queue, fan_out
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

BASE_URL = "https://lsl.example"
LINK = re.compile(re.escape(BASE_URL) + r"/u/([A-Za-z0-9_-]{12})\b")
PAGE = "/api/v1/lisoloo/sms-api/u"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def opt_out_base_url(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The send function as a stack with OptOutBaseUrl set runs it."""
    send = load_function("send")
    carriers = send.settings.carriers.model_copy(update={"opt_out_base_url": BASE_URL})
    monkeypatch.setattr(send, "settings", send.settings.model_copy(update={"carriers": carriers}))


def page(method: str, token: str) -> tuple[int, str, dict[str, str]]:
    event = api_event(f"opt_out-{method.lower()}", path=f"{PAGE}/{token}", path_parameters={"token": token})
    response = load_function("opt_out").lambda_handler(event, lambda_context())
    headers: dict[str, str] = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    headers.update({name: values[-1] for name, values in multi.items()})
    return response["statusCode"], response["body"], headers


def send_with_link(harness: Harness, merchant: Merchant, numbers: list[str], sender_id: str | None = None) -> Any:
    body: dict[str, Any] = {"to": numbers, "message": "Sale today! Stop: {{opt_out_url}}"}
    if sender_id is not None:
        body["sender_id"] = sender_id
    code, reply = harness.send(merchant, body)
    assert code == 200, reply
    assert harness.dispatch_queued() == {"batchItemFailures": []}
    return reply


def sent_token(harness: Harness, number: str) -> str:
    texts = [submission.text for submission in harness.carrier.submissions if submission.to == number]
    match = LINK.search(texts[-1])
    assert match is not None, texts
    return match.group(1)


def error_code_of_next_send(harness: Harness, merchant: Merchant, number: str) -> int | None:
    _, body = harness.send(merchant, {"to": [number], "message": "Another sale"})
    harness.dispatch_queued()
    code: int | None = harness.status(merchant, body["data"]["message_id"])[1]["data"]["error_code"]
    return code


def test_each_recipient_gets_a_link_of_its_own_counted_in_its_parts(harness: Harness) -> None:
    # Given a merchant
    merchant = harness.new_merchant()
    # When it sends a text with {{opt_out_url}} to two numbers
    reply = send_with_link(harness, merchant, ["+254712345678", "+254712345679"])
    # Then each handset got its own 12-character link, and the reply counted the real text
    tokens = {sent_token(harness, number) for number in ("+254712345678", "+254712345679")}
    assert len(tokens) == 2
    assert all(len(token) == TOKEN_LENGTH for token in tokens)
    text = harness.carrier.submissions[-1].text
    assert len(text) == len("Sale today! Stop: ") + len(BASE_URL) + len("/u/") + TOKEN_LENGTH
    assert (reply["data"]["segments"], reply["data"]["segments_total"], reply["data"]["encoding"]) == (1, 2, "GSM-7")


def test_a_request_cannot_set_the_link_itself(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body = harness.send(
        merchant, {"to": [{"to": "+254712345678", "vars": {"opt_out_url": "https://evil.example"}}], "message": "x"}
    )
    assert code == 422, body


def test_get_shows_the_page_and_never_opts_out(harness: Harness) -> None:
    # Given a recipient's link, sent as "SHOP"
    merchant = harness.new_merchant()
    send_with_link(harness, merchant, ["+254712345610"], sender_id="SHOP")
    token = sent_token(harness, "+254712345610")
    # When the link is fetched, twice (an SMS app's preview, then the recipient)
    for _ in range(2):
        code, html, headers = page("GET", token)
        # Then it asks to confirm, names the sender, not the number, and locks the page down
        assert code == 200
        assert "Stop messages from SHOP?" in html
        assert '<form method="post">' in html
        assert "712345610" not in html
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    # And the number is not suppressed: the next send goes out
    assert harness.repository().suppressions.get(merchant.org_id, "+254712345610") is None
    assert error_code_of_next_send(harness, merchant, "+254712345610") is None


def test_confirming_suppresses_the_number_once_and_the_next_send_fails_1406(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    drain_webhook_queue(harness)
    # Given a merchant with a webhook, and another merchant that texts the same number
    merchant, other = harness.new_merchant(), harness.new_merchant()
    _, configured = configure(harness, merchant, receiver.url("/links"))
    send_with_link(harness, other, ["+254712345620"])
    other_token = sent_token(harness, "+254712345620")
    send_with_link(harness, merchant, ["+254712345620"])
    token = sent_token(harness, "+254712345620")
    # When the recipient confirms on the first merchant's link, twice (a double tap)
    code, html, _ = page("POST", token)
    again, html_again, _ = page("POST", token)
    # Then the first says done, naming the organization (no sender id), the second already done
    assert (code, again) == (200, 200)
    assert "You will get no more messages from Test merchant." in html
    assert "Already done" in html_again
    assert "Already done" in page("GET", token)[1]
    # And the number is on that merchant's list, from a link; the other merchant's list is untouched
    repository = harness.repository()
    suppression = repository.suppressions.get(merchant.org_id, "+254712345620")
    assert suppression is not None and suppression.source.value == "link"
    assert repository.suppressions.get(other.org_id, "+254712345620") is None
    # And its next send fails 1406, while the other merchant's still goes out
    assert error_code_of_next_send(harness, merchant, "+254712345620") == 1406
    assert error_code_of_next_send(harness, other, "+254712345620") is None
    assert "Stop messages from" in page("GET", other_token)[1]
    # And the stream fires one signed sms.opted_out, logged once however often it is read
    fan_out(harness, token)
    fan_out(harness, token)
    assert deliver_queued(harness) == []
    events = receiver.events("/links")
    assert {webhook.event["type"] for webhook in events} == {"sms.opted_out"}
    for webhook in events:
        Webhook(configured["data"]["secret"]).verify(webhook.body, webhook.headers)
        assert webhook.event["data"]["from"] == "+254712345620"
        assert webhook.event["data"]["source"] == "link"
    assert len({webhook.headers["webhook-id"] for webhook in events}) == 1
    logged, _ = repository.events.after(merchant.org_id, 0, 100, event_type="sms.opted_out")
    assert [event.event_id for event in logged] == [events[0].headers["webhook-id"]]


@pytest.mark.parametrize("token", ["AAAAAAAAAAAA", "short", "a" * 13, "..%2F..", "<script>x"])
def test_unknown_and_malformed_links_get_the_same_404_page(harness: Harness, token: str) -> None:
    # Given a token no link has (or one that is no token at all)
    # When it is fetched and posted
    for method in ("GET", "POST"):
        code, html, headers = page(method, token)
        # Then both answer the same plain 404 page, which echoes nothing of the request
        assert code == 404
        assert html == page("GET", "AAAAAAAAAAAB")[1]
        assert "<script>" not in html
        assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert json.dumps(html)  # a string body, not JSON's {"detail": ...}


def test_a_stack_without_a_base_url_refuses_the_placeholder_saying_why(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack with neither OptOutBaseUrl nor ReceiptsBaseUrl set
    send = load_function("send")
    carriers = send.settings.carriers.model_copy(update={"opt_out_base_url": "", "receipts_base_url": ""})
    monkeypatch.setattr(send, "settings", send.settings.model_copy(update={"carriers": carriers}))
    merchant = harness.new_merchant()
    # When a send uses {{opt_out_url}}
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Stop: {{opt_out_url}}"})
    # Then it is a 422 naming the setting, and a text without the placeholder still goes
    assert code == 422, body
    assert body["detail"][0]["type"] == "opt_out_url" and "OptOutBaseUrl" in body["detail"][0]["msg"]
    assert harness.send(merchant, {"to": ["+254712345678"], "message": "No link"})[0] == 200


def sweeper_of(harness: Harness) -> Sweeper:
    return harness.sweeper()


def test_every_carrier_attempt_sends_the_same_link(harness: Harness) -> None:
    # Given a recipient the carrier refuses twice (…0005)
    merchant = harness.new_merchant()
    _, body = harness.send(merchant, {"to": ["+254712340005"], "message": "Stop: {{opt_out_url}}"})
    started = datetime.now(UTC)
    harness.dispatch_queued()
    # When the sweep retries it until it is taken
    sweeper = sweeper_of(harness)
    for hours in (2, 6):  # the retries are due 1 h, then 3 h more, after the first attempt
        sweeper.sweep(started + timedelta(hours=hours), lambda: 60.0)
    # Then all three attempts carried one link, and that link works
    texts = {submission.text for submission in harness.carrier.submissions if submission.to == "+254712340005"}
    attempts = [submission for submission in harness.carrier.submissions if submission.to == "+254712340005"]
    assert len(attempts) == 3 and len(texts) == 1
    assert harness.status(merchant, body["data"]["message_id"])[1]["data"]["status"] == "sent"
    assert "Stop messages from" in page("GET", sent_token(harness, "+254712340005"))[1]


def test_a_schedules_occurrences_share_a_link_that_stays_used(harness: Harness) -> None:
    # Given a send on two days with a link, its first occurrence dispatched and the link used
    merchant = harness.new_merchant()
    first = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    code, body = harness.send(
        merchant,
        {
            "to": ["+254712345630"],
            "message": "Daily deal. Stop: {{opt_out_url}}",
            "scheduled_dates": [first.isoformat(), (first + timedelta(days=1)).isoformat()],
        },
    )
    assert code == 200, body
    sweeper = sweeper_of(harness)
    assert sweeper.sweep(first + timedelta(seconds=30), lambda: 60.0).released == 1
    harness.dispatch_queued()
    token = sent_token(harness, "+254712345630")
    assert "Done" in page("POST", token)[1]
    # When the second occurrence is released and dispatched (it writes the same link again)
    harness.repository().suppressions.remove(merchant.org_id, "+254712345630")  # lifted by the merchant
    assert sweeper.sweep(first + timedelta(days=1, seconds=30), lambda: 60.0).released == 1
    harness.dispatch_queued()
    # Then it carried the same link, which is still used: no second opt-out, no second event
    assert sent_token(harness, "+254712345630") == token
    assert "Already done" in page("POST", token)[1]
    assert harness.repository().suppressions.get(merchant.org_id, "+254712345630") is None
