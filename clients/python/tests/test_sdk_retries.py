"""Retries: 429 (Retry-After in seconds or as a date), 409, 5xx and no answer are tried again
with backoff; other 4xx never; a send keeps its Idempotency-Key across every retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from conftest import Handler, async_client, client, envelope, error

from lisoloo_client import (
    APIConnectionError,
    AuthenticationError,
    BadRequest,
    LisolooError,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    ValidationError,
)
from lisoloo_client._retry import RetryPolicy, parse_retry_after

ACCEPTED = {
    "message_id": "6b04f2a1c3d4e5f607182930",
    "status": "pending",
    "total_recipients": 1,
    "encoding": "GSM-7",
    "segments": 1,
    "segments_total": 1,
    "created_at": "2026-12-07T10:15:00Z",
}
BALANCE = {"currency": "KES", "balance": "2.00", "reserved": "0.00", "credit_limit": "0.00", "available": "2.00"}


def scripted(*answers: httpx.Response | Exception) -> tuple[list[httpx.Request], Handler]:
    """A handler giving ``answers`` in turn (raising the exceptions), and the requests it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[len(seen) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handle


def test_a_429_is_retried_after_the_seconds_retry_after_gives(sleeps: list[float]) -> None:
    # Given an API that is rate limited twice, asking for 2 then 0 seconds
    seen, handle = scripted(
        error(429, "Rate limit exceeded", **{"Retry-After": "2"}),
        error(429, "Rate limit exceeded", **{"Retry-After": "0"}),
        envelope(BALANCE),
    )
    # When the balance is read
    balance = client(handle).balance()
    # Then it came on the third try, after exactly the waits asked for
    assert (len(seen), sleeps, str(balance.available)) == (3, [2.0, 0.0], "2.00")


def test_a_retry_after_given_as_an_http_date_is_honoured() -> None:
    now = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    in_five = format_datetime(now + timedelta(seconds=5), usegmt=True)
    assert parse_retry_after(in_five, now) == 5.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert [parse_retry_after(value, now) for value in (None, "", "soon", "nan", "-3")] == [None, None, None, None, 0.0]


def test_backoff_is_full_jitter_under_a_doubling_cap_and_ignores_a_retry_after_too_long() -> None:
    # Given a policy whose jitter reports the range it was asked to draw from
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, jitter=lambda low, high: high)
    drawn_from_zero = RetryPolicy(jitter=lambda low, high: low)
    # Then the cap doubles per retry up to max_delay, every draw starting at 0 (full jitter)
    assert [policy.delay(retry) for retry in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert drawn_from_zero.delay(3) == 0.0
    # And a Retry-After beyond max_retry_after falls back to the backoff
    assert policy.delay(0, "3600") == 0.5


@pytest.mark.parametrize("status_code", [500, 502, 503, 504, 409])
def test_a_5xx_or_a_send_still_in_progress_is_retried(status_code: int, sleeps: list[float]) -> None:
    seen, handle = scripted(error(status_code, "busy"), envelope(BALANCE))
    client(handle).balance()
    assert len(seen) == 2 and len(sleeps) == 1


@pytest.mark.parametrize(
    ("status_code", "raised"),
    [(400, BadRequest), (401, AuthenticationError), (402, PaymentRequired), (404, NotFound), (422, ValidationError)],
)
def test_other_4xx_are_never_retried(status_code: int, raised: type[LisolooError], sleeps: list[float]) -> None:
    seen, handle = scripted(error(status_code, "no"), envelope(BALANCE))
    with pytest.raises(raised) as caught:
        client(handle).balance()
    assert (len(seen), sleeps, caught.value.status_code) == (1, [], status_code)


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (error(429, "Rate limit exceeded"), RateLimited),
        (error(503, "Service Unavailable"), ServerError),
        (httpx.ConnectError("refused"), APIConnectionError),
    ],
)
def test_after_max_retries_the_last_failure_is_raised(
    answer: httpx.Response | Exception, raised: type[Exception], sleeps: list[float]
) -> None:
    seen, handle = scripted(*[answer] * 3)
    with pytest.raises(raised):
        client(handle, max_retries=2).balance()
    assert (len(seen), len(sleeps)) == (3, 2)


def test_a_bad_url_is_not_retried(sleeps: list[float]) -> None:
    seen, handle = scripted(httpx.UnsupportedProtocol("no such scheme"))
    with pytest.raises(APIConnectionError):
        client(handle).balance()
    assert (len(seen), sleeps) == (1, [])


def test_every_retry_of_a_send_carries_the_same_idempotency_key(sleeps: list[float]) -> None:
    # Given an API whose first answer is lost after it got the request, then a 503
    seen, handle = scripted(httpx.ReadError("connection reset"), error(503, "busy"), envelope(ACCEPTED))
    lisoloo = client(handle)
    # When one text is sent
    sent = lisoloo.send(["+254712345678"], "Your code is 4821", reference="order-1")
    # Then the three tries carried one key, a uuid4, and the same body
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(seen) == 3 and len(keys) == 1 and len(keys.pop()) == 36
    assert {request.content for request in seen} == {
        b'{"to":["+254712345678"],"message":"Your code is 4821","reference":"order-1"}'
    }
    assert sent.message_id == ACCEPTED["message_id"]


def test_each_send_gets_its_own_key_unless_the_caller_gives_one() -> None:
    seen, handle = scripted(*[envelope(ACCEPTED)] * 3)
    lisoloo = client(handle)
    lisoloo.send(["+254712345678"], "one")
    lisoloo.send(["+254712345678"], "two")
    lisoloo.send(["+254712345678"], "three", idempotency_key="order-1182-sms")
    first, second, given = (request.headers["idempotency-key"] for request in seen)
    assert first != second and given == "order-1182-sms"


def test_a_quote_is_a_dry_run_with_no_key() -> None:
    quote = {
        "dry_run": True,
        "total_recipients": 1,
        "encoding": "GSM-7",
        "segments": 1,
        "cost": {"currency": "KES", "estimate": "0.80"},
        "countries": [{"country": "KE", "recipients": 1, "segments": 1, "estimate": "0.80"}],
    }
    seen, handle = scripted(envelope(quote))
    answer = client(handle).quote([{"to": "+254712345678", "vars": {"name": "Amina"}}], "Hi {{name}}")
    assert "idempotency-key" not in seen[0].headers
    assert seen[0].content.endswith(b'"dry_run":true}')
    assert str(answer.cost.estimate) == "0.80"


def test_the_async_client_retries_a_send_under_one_key(sleeps: list[float]) -> None:
    seen, handle = scripted(
        error(429, "Rate limit exceeded", **{"Retry-After": "1"}), httpx.ReadError("reset"), envelope(ACCEPTED)
    )

    async def send() -> str:
        async with async_client(handle) as lisoloo:
            return (await lisoloo.send(["+254712345678"], "Your code is 4821")).message_id

    assert asyncio.run(send()) == ACCEPTED["message_id"]
    assert len({request.headers["idempotency-key"] for request in seen}) == 1
    assert len(seen) == 3 and sleeps[0] == 1.0
