"""Fakes for the SDK's unit tests: an API answered by a function (``httpx.MockTransport``), and
sleeps that are recorded instead of slept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lisoloo_client import AsyncClient, Client

BASE_URL = "https://api.test/api/v1/lisoloo/sms-api"
APP_KEY = "lsk_unit_test_key_do_not_leak"

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(data: dict[str, Any], status_code: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status_code, json={"status_code": status_code, "data": data}, headers=headers)


def error(status_code: int, detail: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status_code, json={"detail": detail}, headers=headers)


def client(handler: Handler, max_retries: int = 3) -> Client:
    return Client(BASE_URL, APP_KEY, max_retries=max_retries, transport=httpx.MockTransport(handler))


def async_client(handler: Handler, max_retries: int = 3) -> AsyncClient:
    async def answer(request: httpx.Request) -> httpx.Response:
        await request.aread()
        return handler(request)

    return AsyncClient(BASE_URL, APP_KEY, max_retries=max_retries, transport=httpx.MockTransport(answer))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait either client asks for, in order; nothing actually waits."""
    waited: list[float] = []

    async def asleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(time, "sleep", waited.append)
    monkeypatch.setattr(asyncio, "sleep", asleep)
    return waited
