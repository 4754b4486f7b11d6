"""Errors carry the API's detail and status code; the app-key never shows in a repr or message."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import APP_KEY, BASE_URL, async_client, client, envelope, error

from lisoloo_client import (
    APIConnectionError,
    Client,
    DeliveryTimeout,
    LisolooError,
    NotFound,
    PaymentRequired,
    ServerError,
    SmsStatus,
    ValidationError,
)

MESSAGE_ID = "6b04f2a1c3d4e5f607182930"
STATUS: dict[str, Any] = {
    "message_id": MESSAGE_ID,
    "status": "sent",
    "total_recipients": 1,
    "delivered": 0,
    "failed": 0,
    "pending": 1,
    "created_at": "2026-12-07T10:15:00Z",
    "updated_at": "2026-12-07T10:15:01Z",
    "recipients": [{"to": "+254712345678", "status": "sent", "updated_at": "2026-12-07T10:15:01Z"}],
}


def test_a_402_carries_its_detail_and_status_code() -> None:
    with pytest.raises(PaymentRequired) as caught:
        client(lambda request: error(402, "Insufficient balance")).send(["+254712345678"], "hi")
    assert (caught.value.detail, caught.value.status_code) == ("Insufficient balance", 402)
    assert str(caught.value) == "402: Insufficient balance"


def test_a_422_keeps_the_list_of_problems() -> None:
    problems = [{"loc": ["body", "to"], "msg": "List should have at least 1 item", "type": "too_short"}]
    with pytest.raises(ValidationError) as caught:
        client(lambda request: error(422, problems)).send([], "hi")
    assert caught.value.detail == problems


def test_an_answer_that_is_not_the_api_s_envelope_still_raises_by_status() -> None:
    with pytest.raises(ServerError) as caught:
        client(lambda request: httpx.Response(502, text="<html>Bad Gateway</html>"), max_retries=0).balance()
    assert (caught.value.status_code, caught.value.detail) == (502, "Bad Gateway")
    with pytest.raises(LisolooError, match="Unexpected answer to GET balance"):
        client(lambda request: httpx.Response(200, json={"status_code": 200})).balance()


def test_a_path_parameter_stays_one_segment() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return error(404, "Message not found")

    with pytest.raises(NotFound):
        client(handle).status("../balance?x=1")
    assert seen[0].url.raw_path == b"/api/v1/lisoloo/sms-api/status/..%2Fbalance%3Fx%3D1"


def test_the_app_key_shows_in_no_repr_and_no_message(sleeps: list[float]) -> None:
    # Given every way a client or its errors is printed
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.headers}")  # a transport that does echo the request

    printed = [repr(client(refuse)), str(client(refuse)), repr(async_client(refuse))]
    for handler in (lambda request: error(401, "Invalid or missing app-key"), refuse):
        with pytest.raises(LisolooError) as caught:
            client(handler).balance()
        printed += [str(caught.value), repr(caught.value)]
    # Then none of them holds the key, and the request did carry it
    assert all(APP_KEY not in text for text in printed), printed
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return envelope(STATUS)

    client(answer).status(MESSAGE_ID)
    assert seen[0].headers["app-key"] == APP_KEY
    assert printed[0] == f"Client(base_url='{BASE_URL}/')"
    assert "APIConnectionError(detail='No answer from the API (ConnectError)'" in printed[-1]


def test_a_client_needs_an_app_key() -> None:
    with pytest.raises(ValueError, match="app_key is required"):
        Client(BASE_URL, "")


def test_wait_for_delivery_polls_until_final(sleeps: list[float]) -> None:
    answers = iter([STATUS, {**STATUS, "status": "processing"}, {**STATUS, "status": "delivered", "delivered": 1}])
    final = client(lambda request: envelope(next(answers))).wait_for_delivery(MESSAGE_ID, poll=0.25)
    assert (final.status, final.is_final, sleeps) == (SmsStatus.DELIVERED, True, [0.25, 0.25])


def test_wait_for_delivery_returns_a_failed_message_too(sleeps: list[float]) -> None:
    failed = {**STATUS, "status": "failed", "failed": 1, "pending": 0, "error_code": 1406}
    final = client(lambda request: envelope(failed)).wait_for_delivery(MESSAGE_ID)
    assert (final.status, final.error_code, sleeps) == (SmsStatus.FAILED, 1406, [])


def test_wait_for_delivery_raises_with_the_last_status_when_time_runs_out(sleeps: list[float]) -> None:
    with pytest.raises(DeliveryTimeout) as caught:
        client(lambda request: envelope(STATUS)).wait_for_delivery(MESSAGE_ID, timeout=0)
    assert caught.value.last_status.status == SmsStatus.SENT
    assert str(caught.value) == f"Message {MESSAGE_ID} is still sent after 0 s"

    async def wait() -> None:
        async with async_client(lambda request: envelope(STATUS)) as lisoloo:
            await lisoloo.wait_for_delivery(MESSAGE_ID, timeout=0)

    with pytest.raises(DeliveryTimeout):
        asyncio.run(wait())


def test_connection_errors_become_the_client_s_own(sleeps: list[float]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out")

    with pytest.raises(APIConnectionError) as caught:
        client(refuse, max_retries=1).balance()
    assert caught.value.status_code is None and isinstance(caught.value.__cause__, httpx.ConnectTimeout)
