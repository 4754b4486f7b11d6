"""The Python SDK (clients/python) against the running local stack, as a merchant uses it: send
and follow, a retried send that goes out once, iterators that neither skip nor repeat while
items arrive, suppressions, inbound, events, redelivery, and a real webhook verified."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import httpx
import pytest
import requests

from lisoloo_client import AsyncClient, Client, NotFound, SmsStatus, ValidationError, webhooks
from tests.e2e.conftest import LocalStack, admin, sandbox_submissions

pytestmark = pytest.mark.e2e


def number() -> str:
    """A Kenyan mobile number of this test's own, ending 77 (no sandbox outcome: delivered)."""
    return f"+25471{random.randint(0, 99_999):05d}77"


@pytest.fixture
def lisoloo(local_stack: LocalStack) -> Any:
    with Client(local_stack.base_url, local_stack.app_key) as client:
        yield client


class LosesTheFirstSendAnswer(httpx.BaseTransport):
    """Forwards every request; the first POST /send's answer is dropped after the stack took the
    request, as a connection reset on the way back would."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        # The Idempotency-Key of each POST /send, as it went out.
        self.sends: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/send"):
            self.sends.append(request.headers.get("idempotency-key"))
            if len(self.sends) == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset after the stack took the send", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_send_wait_and_page_through_the_recipients(lisoloo: Client) -> None:
    # Given five numbers of our own
    numbers = sorted({number() for _ in range(5)})
    # When one text goes to them and we wait for it
    sent = lisoloo.send(numbers, "Your order has shipped", sender_id="LISOLOO", reference=f"sdk-{uuid.uuid4().hex[:8]}")
    final = lisoloo.wait_for_delivery(sent.message_id, timeout=30, poll=0.3)
    # Then it is delivered to each, and the recipients come two a page, each once
    assert (final.status, final.delivered, final.total_recipients) == (SmsStatus.DELIVERED, len(numbers), len(numbers))
    recipients = list(lisoloo.recipients(sent.message_id, page_size=2))
    assert sorted(recipient.to for recipient in recipients) == numbers
    assert {recipient.status for recipient in recipients} == {SmsStatus.DELIVERED}


def test_a_send_whose_answer_was_lost_is_retried_and_sent_once(local_stack: LocalStack) -> None:
    # Given a connection that loses the answer to the first send after the stack received it
    transport = LosesTheFirstSendAnswer()
    numbers = sorted({number() for _ in range(3)})
    reference = f"sdk-once-{uuid.uuid4().hex[:8]}"
    with Client(local_stack.base_url, local_stack.app_key, transport=transport) as lisoloo:
        # When the text is sent (the client retries the lost answer by itself)
        sent = lisoloo.send(numbers, "Your code is 4821", reference=reference)
        final = lisoloo.wait_for_delivery(sent.message_id, timeout=30, poll=0.3)
        # Then it took two requests under one Idempotency-Key, and exactly one message exists
        first, retried = transport.sends
        assert first is not None and first == retried
        assert [message.message_id for message in lisoloo.messages(reference=reference)] == [sent.message_id]
    # And the carriers got each number once
    assert final.status == SmsStatus.DELIVERED
    submitted = [row["to"] for rows in sandbox_submissions(local_stack, sent.message_id).values() for row in rows]
    assert sorted(submitted) == numbers


def test_messages_are_listed_once_each_while_new_ones_arrive(lisoloo: Client) -> None:
    # Given seven messages under one reference
    reference = f"sdk-walk-{uuid.uuid4().hex[:8]}"
    before = [lisoloo.send([number()], f"Walk {index}", reference=reference).message_id for index in range(7)]
    # When they are listed three a page, two more being sent after the first page
    walk = lisoloo.messages(reference=reference, page_size=3)
    listed = [next(walk).message_id for _ in range(3)]
    during = [lisoloo.send([number()], f"During {index}", reference=reference).message_id for index in range(2)]
    listed += [message.message_id for message in walk]
    # Then every message there at the start came once, newest first, and nothing came twice
    assert len(listed) == len(set(listed))
    assert [message_id for message_id in listed if message_id in before] == before[::-1]
    assert set(listed) <= set(before) | set(during)


def test_suppressions_are_walked_once_each_while_more_are_added(lisoloo: Client) -> None:
    # Given a few numbers of our own suppressed, one of them with a reason
    mine = sorted({number() for _ in range(6)})
    assert lisoloo.add_suppressions(mine[:5]).suppressed == 5
    assert lisoloo.add_suppression(mine[5], reason="asked at the till").reason == "asked at the till"
    # When the list is walked two a page, another number being added after the first page
    walk = lisoloo.suppressions(page_size=2)
    seen = [next(walk).number]
    late = number()
    lisoloo.add_suppression(late)
    seen += [suppression.number for suppression in walk]
    # Then nothing came twice and every number suppressed before the walk came
    assert len(seen) == len(set(seen)) and set(mine) <= set(seen)
    # And a removed number is gone, and removing it again is a 404 with the API's detail
    for suppressed in [*mine, late]:
        assert lisoloo.remove_suppression(suppressed).suppressed is False
    with pytest.raises(NotFound) as caught:
        lisoloo.remove_suppression(mine[0])
    assert caught.value.status_code == 404
    assert not set(mine) & {suppression.number for suppression in lisoloo.suppressions()}


def test_events_redelivery_and_a_real_webhook_verified(local_stack: LocalStack, lisoloo: Client) -> None:
    # Given a delivered message, and where the event log stood before it
    start = list(lisoloo.events(type="sms.delivered"))
    after = start[-1].position if start else None
    sent = lisoloo.send([number()], "Your table is ready")
    lisoloo.wait_for_delivery(sent.message_id, timeout=30, poll=0.3)
    # When the events after that position are read, and the delivered one redelivered
    deadline = time.monotonic() + 20
    while not (ours := [e for e in lisoloo.events(after=after, page_size=2) if e.message_id == sent.message_id]):
        assert time.monotonic() < deadline, "no event logged for the message"
        time.sleep(0.3)
    delivered = next(event for event in ours if event.type == "sms.delivered")
    assert lisoloo.redeliver(delivered.event_id).targets >= 1
    # Then the inspector got it signed with the demo secret, and it verifies into the event
    deadline = time.monotonic() + 20
    while True:
        received = requests.get(local_stack.demo_webhook_url, timeout=10).json()["webhooks"]
        copies = [hook for hook in received if hook["headers"]["webhook-id"] == delivered.event_id]
        if len(copies) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(copies) >= 2, "the redelivery never arrived"
    for copy in copies:
        event = webhooks.verify(copy["body"], copy["headers"], local_stack.demo_webhook_secret)
        assert (event.type, event.data["message_id"]) == ("sms.delivered", sent.message_id)
    # And the delivery attempts list it
    attempts = [
        attempt for attempt in lisoloo.webhook_deliveries(page_size=20) if attempt.event_id == delivered.event_id
    ]
    assert attempts and all(attempt.target for attempt in attempts)


def test_inbound_balance_and_errors(local_stack: LocalStack, lisoloo: Client) -> None:
    # Given a number of ours the demo organization receives on, and a handset texting it
    ours = number()
    admin(local_stack, "numbers", "assign", local_stack.org_id, ours)
    handset = number()
    reply = requests.post(
        f"{local_stack.sandbox_url}/mo", json={"from": handset, "to": ours, "text": "Is my order ready?"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    # Then the inbound listing has it, newest first
    newest = next(lisoloo.inbound(page_size=5))
    assert (newest.from_, newest.to, newest.text) == (handset, ours, "Is my order ready?")
    # And the balance reads as decimals
    balance = lisoloo.balance()
    assert balance.available == balance.balance + balance.credit_limit
    # And errors are the API's, as exceptions
    with pytest.raises(NotFound) as not_found:
        lisoloo.status("0" * 24)
    assert not_found.value.detail == "Message not found"
    with pytest.raises(ValidationError) as invalid:
        lisoloo.send([], "nobody")
    assert isinstance(invalid.value.detail, list) and invalid.value.detail[0]["loc"][-1] == "to"


def test_the_async_client_sends_waits_and_walks(local_stack: LocalStack) -> None:
    reference = f"sdk-async-{uuid.uuid4().hex[:8]}"

    async def journey() -> tuple[str, SmsStatus, list[str]]:
        async with AsyncClient(local_stack.base_url, local_stack.app_key) as lisoloo:
            sent = await lisoloo.send([number(), number()], "Async hello", reference=reference)
            final = await lisoloo.wait_for_delivery(sent.message_id, timeout=30, poll=0.3)
            listed = [message.message_id async for message in lisoloo.messages(reference=reference, page_size=1)]
            return sent.message_id, final.status, listed

    message_id, status, listed = asyncio.run(journey())
    assert (status, listed) == (SmsStatus.DELIVERED, [message_id])
