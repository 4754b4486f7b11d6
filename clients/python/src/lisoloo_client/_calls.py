"""Every API call described once, without I/O: what to request, how to read the answer, how to
page on. ``Client`` and ``AsyncClient`` only move these over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, NotRequired, TypedDict, TypeVar
from urllib.parse import quote as url_quote

import httpx
import pydantic

from lisoloo_client.errors import Detail, LisolooError, error_for
from lisoloo_client.models import (
    Balance,
    BulkSuppressed,
    DeliveriesPage,
    DeliveryAttempt,
    Event,
    EventRedelivery,
    EventsPage,
    InboundMessage,
    InboundPage,
    MessagesPage,
    MessageStatus,
    MessageSummary,
    Model,
    RecipientState,
    Recurrence,
    ScheduleCancelled,
    SendAccepted,
    SendQuote,
    Suppression,
    SuppressionPage,
    SuppressionRemoved,
)

ModelT = TypeVar("ModelT", bound=Model)
PageT = TypeVar("PageT", bound=Model)
ItemT = TypeVar("ItemT")
Params = dict[str, str | int]


class PersonalRecipient(TypedDict):
    """A ``to`` entry with its own values for the message's ``{{name}}`` placeholders."""

    to: str
    vars: NotRequired[dict[str, str]]


@dataclass(frozen=True)
class Call(Generic[ModelT]):
    """One request and the model its envelope's ``data`` holds."""

    method: str
    path: str
    model: type[ModelT]
    params: Params = field(default_factory=dict)
    body: Any = None
    # Sent with the request, and kept for each retry of it: the API then sends at most once.
    idempotency_key: str | None = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {"Idempotency-Key": self.idempotency_key} if self.idempotency_key else None
        content = None if self.body is None else json.dumps(self.body, separators=(",", ":"))
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        return http.build_request(self.method, self.path, params=self.params, content=content, headers=headers)

    def parse(self, response: httpx.Response) -> ModelT:
        """The answer's ``data`` as the model, or the exception its status code stands for."""
        if response.is_success:
            try:
                return self.model.model_validate(response.json()["data"])
            except (ValueError, KeyError, TypeError, pydantic.ValidationError) as error:
                raise LisolooError(f"Unexpected answer to {self.method} {self.path}", response.status_code) from error
        raise error_for(response.status_code, _detail(response))


def _detail(response: httpx.Response) -> Detail:
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        # Not the API's envelope (a proxy's page, say): its status line is all there is to say.
        return response.reason_phrase or f"HTTP {response.status_code}"
    return detail if isinstance(detail, str | list) else str(detail)


@dataclass(frozen=True)
class Pager(Generic[PageT, ItemT]):
    """Walks a listing page by page, following the API's own cursor.

    The API's cursors are positions after the last item returned, so following them exactly
    neither skips nor repeats, even while new items arrive; a page may be short (even empty)
    and still have a next one, so only a missing cursor ends the walk.
    """

    first: Call[PageT]
    items: Callable[[PageT], Sequence[ItemT]]
    cursor: Callable[[PageT], str | None]
    cursor_param: str

    def next_call(self, call: Call[PageT], page: PageT) -> Call[PageT] | None:
        cursor = self.cursor(page)
        if cursor is None:
            return None
        if cursor == call.params.get(self.cursor_param):
            # The same position again would loop for ever; say so rather than spin.
            raise LisolooError(f"{call.path} returned the cursor it was given; stopping to avoid a loop")
        return replace(call, params={**call.params, self.cursor_param: cursor})


def _segment(value: str) -> str:
    """A path parameter, escaped so that it stays one segment whatever it holds."""
    return url_quote(value, safe="+")


def _params(**values: str | int | datetime | None) -> Params:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if value is not None
    }


class SendOptions(TypedDict, total=False):
    """What a send may carry besides its numbers and text (``POST /send``'s other fields)."""

    sender_id: str
    reference: str
    callback_url: str
    scheduled_dates: Sequence[datetime | str]
    recurring_schedule: Recurrence | Mapping[str, Any]
    validity_period: int
    deliver_within: int


def _send_body(to: Sequence[str | PersonalRecipient], message: str, options: SendOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"to": list(to), "message": message, **options}
    if "scheduled_dates" in options:
        body["scheduled_dates"] = [d.isoformat() if isinstance(d, datetime) else d for d in options["scheduled_dates"]]
    if "recurring_schedule" in options:
        schedule = options["recurring_schedule"]
        recurrence = schedule if isinstance(schedule, Recurrence) else Recurrence.model_validate(schedule)
        body["recurring_schedule"] = recurrence.model_dump(mode="json", exclude_none=True)
    return body


def send(
    to: Sequence[str | PersonalRecipient], message: str, options: SendOptions, idempotency_key: str | None
) -> Call[SendAccepted]:
    # A fresh key unless the caller brought one; the Call keeps it for every retry of this send.
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "send", SendAccepted, body=_send_body(to, message, options), idempotency_key=key)


def quote(to: Sequence[str | PersonalRecipient], message: str, options: SendOptions) -> Call[SendQuote]:
    # A dry run creates nothing, so it needs no Idempotency-Key.
    return Call("POST", "send", SendQuote, body={**_send_body(to, message, options), "dry_run": True})


def status(message_id: str, recipients_limit: int | None = None) -> Call[MessageStatus]:
    return Call("GET", f"status/{_segment(message_id)}", MessageStatus, _params(recipients_limit=recipients_limit))


def cancel_schedule(schedule_id: str) -> Call[ScheduleCancelled]:
    return Call("DELETE", f"schedules/{_segment(schedule_id)}", ScheduleCancelled)


def recipients(message_id: str, page_size: int) -> Pager[MessageStatus, RecipientState]:
    return Pager(
        status(message_id, page_size),
        lambda page: page.recipients,
        lambda page: page.recipients_cursor,
        "recipients_cursor",
    )


def messages(
    *,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    reference: str | None,
    sender_id: str | None,
    recipient: str | None,
    page_size: int,
) -> Pager[MessagesPage, MessageSummary]:
    params = _params(
        status=status,
        created_after=created_after,
        created_before=created_before,
        reference=reference,
        sender_id=sender_id,
        recipient=recipient,
        limit=page_size,
    )
    return Pager(
        Call("GET", "messages", MessagesPage, params), lambda page: page.messages, lambda page: page.cursor, "cursor"
    )


def events(*, after: str | None, type: str | None, page_size: int) -> Pager[EventsPage, Event]:
    # The event log answers its last position even when nothing follows; ``has_more`` ends the walk.
    return Pager(
        Call("GET", "events", EventsPage, _params(after=after, type=type, limit=page_size)),
        lambda page: page.events,
        lambda page: page.after if page.has_more else None,
        "after",
    )


def redeliver(event_id: str) -> Call[EventRedelivery]:
    return Call("POST", f"events/{_segment(event_id)}/redeliver", EventRedelivery)


def webhook_deliveries(*, failed_only: bool, page_size: int) -> Pager[DeliveriesPage, DeliveryAttempt]:
    params = _params(status="failed" if failed_only else None, limit=page_size)
    return Pager(
        Call("GET", "webhook/deliveries", DeliveriesPage, params),
        lambda page: page.deliveries,
        lambda page: page.cursor,
        "cursor",
    )


def inbound(*, page_size: int) -> Pager[InboundPage, InboundMessage]:
    return Pager(
        Call("GET", "inbound", InboundPage, _params(limit=page_size)),
        lambda page: page.inbound,
        lambda page: page.cursor,
        "cursor",
    )


def suppressions(*, page_size: int) -> Pager[SuppressionPage, Suppression]:
    return Pager(
        Call("GET", "suppressions", SuppressionPage, _params(limit=page_size)),
        lambda page: page.suppressions,
        lambda page: page.cursor,
        "cursor",
    )


def add_suppression(number: str, reason: str | None) -> Call[Suppression]:
    return Call(
        "PUT", f"suppressions/{_segment(number)}", Suppression, body={} if reason is None else {"reason": reason}
    )


def add_suppressions(numbers: Sequence[str], reason: str | None) -> Call[BulkSuppressed]:
    body: dict[str, Any] = {"numbers": list(numbers)} | ({} if reason is None else {"reason": reason})
    return Call("POST", "suppressions", BulkSuppressed, body=body)


def remove_suppression(number: str) -> Call[SuppressionRemoved]:
    return Call("DELETE", f"suppressions/{_segment(number)}", SuppressionRemoved)


def balance() -> Call[Balance]:
    return Call("GET", "balance", Balance)
