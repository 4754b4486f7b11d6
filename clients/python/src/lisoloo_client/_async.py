"""``AsyncClient``: ``Client``'s twin over an asyncio httpx client (same calls, same retries)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar, Unpack

import httpx

from lisoloo_client import _calls
from lisoloo_client._calls import Call, Pager, PersonalRecipient, SendOptions
from lisoloo_client._http import DEFAULT_TIMEOUT, client_options
from lisoloo_client._retry import RetryPolicy
from lisoloo_client.errors import APIConnectionError, DeliveryTimeout
from lisoloo_client.models import (
    Balance,
    BulkSuppressed,
    DeliveryAttempt,
    Event,
    EventRedelivery,
    InboundMessage,
    MessageStatus,
    MessageSummary,
    Model,
    RecipientState,
    ScheduleCancelled,
    SendAccepted,
    SendQuote,
    Suppression,
    SuppressionRemoved,
)

ModelT = TypeVar("ModelT", bound=Model)
PageT = TypeVar("PageT", bound=Model)
ItemT = TypeVar("ItemT")


class AsyncClient:
    """The Lisoloo SMS API, for asyncio. ``base_url`` is the API's stage URL, path included
    (``http://127.0.0.1:3000/api/v1/lisoloo/sms-api`` locally); ``app_key`` goes in every
    request's ``app-key`` header. ``timeout`` bounds each attempt, in seconds; a failure worth
    retrying is tried again up to ``max_retries`` times; ``transport`` replaces httpx's own (a
    proxy, a test double). Close it (or use ``async with``) to release its connections."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retry = RetryPolicy(max_retries=max_retries)
        self._http = httpx.AsyncClient(**client_options(base_url, app_key, timeout), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={str(self._http.base_url)!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    # Sending and following one message

    async def send(
        self,
        to: Sequence[str | PersonalRecipient],
        message: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[SendOptions],
    ) -> SendAccepted:
        """Send ``message`` to ``to`` (numbers, or ``{"to": number, "vars": {...}}`` items).

        Every send carries an ``Idempotency-Key`` (a fresh uuid4 unless given) and each retry
        repeats it, so the API sends at most once however often the request is retried.
        """
        return await self._request(_calls.send(to, message, options, idempotency_key))

    async def quote(
        self, to: Sequence[str | PersonalRecipient], message: str, **options: Unpack[SendOptions]
    ) -> SendQuote:
        """What the send would cost (``"dry_run": true``): nothing is stored, sent or reserved."""
        return await self._request(_calls.quote(to, message, options))

    async def status(self, message_id: str) -> MessageStatus:
        return await self._request(_calls.status(message_id))

    async def wait_for_delivery(self, message_id: str, *, timeout: float = 60.0, poll: float = 1.0) -> MessageStatus:
        """Poll the status every ``poll`` seconds until the message is final (``delivered`` or
        ``failed``: check ``.status``) and return it; raise ``DeliveryTimeout`` (holding the
        last status seen) if it is not final after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.status(message_id)
            remaining = deadline - time.monotonic()
            if current.is_final:
                return current
            if remaining <= 0:
                raise DeliveryTimeout.of(current, timeout)
            await asyncio.sleep(min(poll, remaining))

    def recipients(self, message_id: str, *, page_size: int = 100) -> AsyncIterator[RecipientState]:
        return self._walk(_calls.recipients(message_id, page_size))

    async def cancel_schedule(self, schedule_id: str) -> ScheduleCancelled:
        """Remove the occurrences of a schedule not yet released; released ones carry on."""
        return await self._request(_calls.cancel_schedule(schedule_id))

    # Finding things

    def messages(
        self,
        *,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        reference: str | None = None,
        sender_id: str | None = None,
        recipient: str | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[MessageSummary]:
        """Messages newest first, filtered as ``GET /messages`` filters them."""
        return self._walk(
            _calls.messages(
                status=status,
                created_after=created_after,
                created_before=created_before,
                reference=reference,
                sender_id=sender_id,
                recipient=recipient,
                page_size=page_size,
            )
        )

    def events(self, *, after: str | None = None, type: str | None = None, page_size: int = 50) -> AsyncIterator[Event]:
        """Webhook events after position ``after`` (oldest first); keep the last ``position`` to read on later."""
        return self._walk(_calls.events(after=after, type=type, page_size=page_size))

    async def redeliver(self, event_id: str) -> EventRedelivery:
        """Queue an event again to today's targets, under the same ``webhook-id``."""
        return await self._request(_calls.redeliver(event_id))

    def webhook_deliveries(self, *, failed_only: bool = False, page_size: int = 50) -> AsyncIterator[DeliveryAttempt]:
        return self._walk(_calls.webhook_deliveries(failed_only=failed_only, page_size=page_size))

    def inbound(self, *, page_size: int = 100) -> AsyncIterator[InboundMessage]:
        """Messages sent to your numbers, newest first."""
        return self._walk(_calls.inbound(page_size=page_size))

    # Suppressions and money

    def suppressions(self, *, page_size: int = 100) -> AsyncIterator[Suppression]:
        return self._walk(_calls.suppressions(page_size=page_size))

    async def add_suppression(self, number: str, *, reason: str | None = None) -> Suppression:
        return await self._request(_calls.add_suppression(number, reason))

    async def add_suppressions(self, numbers: Sequence[str], *, reason: str | None = None) -> BulkSuppressed:
        return await self._request(_calls.add_suppressions(numbers, reason))

    async def remove_suppression(self, number: str) -> SuppressionRemoved:
        return await self._request(_calls.remove_suppression(number))

    async def balance(self) -> Balance:
        return await self._request(_calls.balance())

    # Transport

    async def _request(self, call: Call[ModelT]) -> ModelT:
        request = call.request(self._http)
        retry = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                wait = self._retry.wait_before_retry(retry, error)
                if wait is None:
                    raise APIConnectionError.of(error) from error
            else:
                wait = self._retry.wait_before_retry(retry, response)
                if wait is None:
                    return call.parse(response)
            await asyncio.sleep(wait)
            retry += 1

    async def _walk(self, pager: Pager[PageT, ItemT]) -> AsyncIterator[ItemT]:
        call: Call[PageT] | None = pager.first
        while call is not None:
            page = await self._request(call)
            for item in pager.items(page):
                yield item
            call = pager.next_call(call, page)
