"""The iterators follow the API's cursors exactly: short and empty pages with a cursor go on,
a missing cursor ends the walk, a cursor handed back unchanged stops it rather than loop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import async_client, client, envelope

from lisoloo_client import LisolooError


def summary(number: int) -> dict[str, Any]:
    return {
        "message_id": f"{number:024x}",
        "status": "delivered",
        "total_recipients": 1,
        "delivered": 1,
        "failed": 0,
        "pending": 0,
        "created_at": "2026-12-07T10:15:00Z",
        "updated_at": "2026-12-07T10:15:02Z",
    }


def pages(*listed: tuple[list[int], str | None]) -> tuple[list[httpx.Request], Any]:
    """GET /messages answering the pages in turn: (message numbers, next cursor)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        numbers, cursor = listed[len(seen) - 1]
        return envelope({"messages": [summary(number) for number in numbers], "cursor": cursor})

    return seen, handle


def test_short_and_empty_pages_with_a_cursor_are_followed_to_the_end() -> None:
    # Given a listing whose second page is empty but not the last (a filter skipped its items)
    seen, handle = pages(([1, 2, 3], "c1"), ([], "c2"), ([4], "c3"), ([5, 6], None))
    # When every message is listed
    listed = [
        int(message.message_id, 16) for message in client(handle).messages(recipient="+254712345678", page_size=3)
    ]
    # Then each came once, in order, and each page asked with the cursor before it
    assert listed == [1, 2, 3, 4, 5, 6]
    assert [request.url.params.get("cursor") for request in seen] == [None, "c1", "c2", "c3"]
    assert {request.url.params["limit"] for request in seen} == {"3"}
    assert {request.url.params["recipient"] for request in seen} == {"+254712345678"}


def test_the_walk_is_lazy_and_stops_at_a_missing_cursor() -> None:
    seen, handle = pages(([1, 2], "c1"), ([3], None))
    walk = client(handle).messages()
    assert seen == []  # nothing asked before the first item is wanted
    assert next(walk).message_id == summary(1)["message_id"] and len(seen) == 1
    assert len(list(walk)) == 2 and len(seen) == 2


def test_a_cursor_handed_back_unchanged_stops_the_walk_instead_of_looping() -> None:
    seen, handle = pages(([1], "c1"), ([2], "c1"), ([3], None))
    with pytest.raises(LisolooError, match="returned the cursor it was given"):
        list(client(handle).messages())
    assert len(seen) == 2


def test_events_read_on_while_has_more_from_the_after_given() -> None:
    seen: list[httpx.Request] = []

    def event(position: int) -> dict[str, Any]:
        return {
            "position": str(position),
            "event_id": f"evt_{position}",
            "type": "sms.delivered",
            "message_id": summary(position)["message_id"],
            "created_at": "2026-12-07T10:15:00Z",
            "body": {"type": "sms.delivered"},
        }

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        after = int(request.url.params.get("after", "0"))
        positions = [p for p in (after + 1, after + 2) if p <= 5]
        return envelope(
            {"events": [event(p) for p in positions], "after": str(positions[-1]), "has_more": positions[-1] < 5}
        )

    listed = [event.position for event in client(handle).events(after="0", type="sms.delivered", page_size=2)]
    assert listed == ["1", "2", "3", "4", "5"]
    assert [request.url.params["after"] for request in seen] == ["0", "2", "4"]
    assert {request.url.params["type"] for request in seen} == {"sms.delivered"}


def test_recipients_page_through_the_status_and_the_async_twin_walks_the_same() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        start = int(request.url.params.get("recipients_cursor", "0"))
        recipients = [
            {"to": f"+2547120000{index:02d}", "status": "delivered", "updated_at": "2026-12-07T10:15:02Z"}
            for index in range(start, min(start + 2, 5))
        ]
        cursor = str(start + 2) if start + 2 < 5 else None
        return envelope({**summary(1), "total_recipients": 5, "recipients": recipients, "recipients_cursor": cursor})

    numbers = [recipient.to for recipient in client(handle).recipients(summary(1)["message_id"], page_size=2)]

    async def walk() -> list[str]:
        async with async_client(handle) as lisoloo:
            return [recipient.to async for recipient in lisoloo.recipients(summary(1)["message_id"], page_size=2)]

    assert numbers == [f"+2547120000{index:02d}" for index in range(5)]
    assert asyncio.run(walk()) == numbers
    assert seen[0].url.path == f"/api/v1/lisoloo/sms-api/status/{summary(1)['message_id']}"
    assert [request.url.params.get("recipients_cursor") for request in seen[:3]] == [None, "2", "4"]
    assert {request.url.params["recipients_limit"] for request in seen} == {"2"}
