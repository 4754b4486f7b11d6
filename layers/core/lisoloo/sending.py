"""POST /send: check the request, store the message in chunks, queue one dispatch job per chunk;
or, with a schedule, store its occurrences for the sweep to release."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lisoloo.accounting import dry_run_quote, estimate, reservation, send_cost
from lisoloo.entities import Audience, MessageContent, NewMessage
from lisoloo.errors import (
    InsufficientBalanceError,
    InvalidDeliverWithinError,
    InvalidRecipientsError,
    InvalidScheduleError,
    InvalidSenderIdError,
    InvalidTemplateError,
    StorageError,
)
from lisoloo.identifiers import new_message_id
from lisoloo.models import Caller, Occurrence, Recipient, SendAccepted, SendRequest, dispatch_jobs
from lisoloo.money_models import SendQuote
from lisoloo.observability import logger, metrics
from lisoloo.opting_out import OPT_OUT_VAR, with_opt_out_links
from lisoloo.personalising import Personalised, check_template, personalise
from lisoloo.phone import MalformedNumberError, normalise_number
from lisoloo.queues import JobQueue
from lisoloo.scheduling import check_schedule, new_schedule, plan_occurrences
from lisoloo.settings import Settings
from lisoloo.status import SmsStatus
from lisoloo.storage import SmsRepository
from lisoloo.webhooks.addresses import check_webhook_url


def split_recipients(entries: list[str | Recipient]) -> tuple[list[str], list[dict[str, str]]]:
    """The ``to`` entries as numbers and, per number, its variables (empty for a plain string)."""
    numbers = [entry if isinstance(entry, str) else entry.to for entry in entries]
    values = [{} if isinstance(entry, str) else entry.vars for entry in entries]
    return numbers, values


def with_links(message: str, values: list[dict[str, str]], settings: Settings) -> list[dict[str, str]]:
    """With ``{{opt_out_url}}`` in the text, each recipient's values get a link of their own,
    made now, so its real length is counted in the reply and every attempt sends the same link."""
    if OPT_OUT_VAR not in check_template(message).used:
        return values
    carriers = settings.carriers
    base_url = carriers.opt_out_base_url or carriers.receipts_base_url
    if not base_url:
        raise InvalidTemplateError(
            [
                {
                    "loc": ["body", "message"],
                    "msg": "{{opt_out_url}} needs the stack's OptOutBaseUrl (or ReceiptsBaseUrl) set",
                    "type": "opt_out_url",
                }
            ]
        )
    return with_opt_out_links(values, base_url)


def normalise_recipients(raw_numbers: list[str], default_country: str) -> list[str]:
    """E.164 numbers in request order. Entries that are not phone numbers, or that repeat an
    earlier entry once normalised, are all reported together (422), so one reply fixes them all.
    Full validity (a real mobile or fixed number) is dispatch's job: it is slow for 10,000."""
    problems: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    numbers: list[str] = []
    for position, raw in enumerate(raw_numbers):
        try:
            number = normalise_number(raw, default_country)
        except MalformedNumberError as error:
            problems.append({"loc": ["body", "to", position], "msg": str(error), "type": "phone_number"})
            continue
        if number in first_seen:
            problems.append(
                {
                    "loc": ["body", "to", position],
                    "msg": f"{number} repeats to[{first_seen[number]}]",
                    "type": "duplicate_recipient",
                }
            )
            continue
        first_seen[number] = position
        numbers.append(number)
    if problems:
        raise InvalidRecipientsError(problems)
    return numbers


def choose_sender_id(requested: str | None, allowed: tuple[str, ...]) -> str | None:
    """The request's sender id, checked against the organization's; its default when the request
    names none. An organization with no sender ids of its own may use any."""
    if not allowed:
        return requested
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise InvalidSenderIdError(
            [
                {
                    "loc": ["body", "sender_id"],
                    "msg": f"not one of this organization's sender ids ({', '.join(allowed)})",
                    "type": "sender_id",
                }
            ]
        )
    return requested


def _content(
    request: SendRequest, caller: Caller, settings: Settings
) -> tuple[list[str], Personalised, MessageContent]:
    """The request checked: its numbers normalised, each recipient's text, the message's content."""
    raw_numbers, values = split_recipients(request.to)
    numbers = normalise_recipients(raw_numbers, caller.default_country)
    texts = personalise(request.message, with_links(request.message, values, settings))
    if request.deliver_within is not None and texts.segments > 1:
        # Two carriers' part receipts could not be told apart on one recipient.
        raise InvalidDeliverWithinError(
            [
                {
                    "loc": ["body", "deliver_within"],
                    "msg": f"for one-part texts only (one-time codes): this text takes {texts.segments} parts",
                    "type": "deliver_within",
                }
            ]
        )
    sender_id = choose_sender_id(request.sender_id, caller.sender_ids)
    if request.callback_url is not None:
        check_webhook_url(request.callback_url, allow_loopback=settings.webhooks.webhook_allow_loopback)
    content = MessageContent(
        org_id=caller.org_id,
        text=request.message,
        sender_id=sender_id,
        reference=request.reference,
        encoding=texts.encoding,
        segments=texts.segments,
        total=len(numbers),
        callback_url=request.callback_url,
        validity_period=request.validity_period,
        deliver_within=request.deliver_within,
    )
    return numbers, texts, content


def quote_message(
    request: SendRequest, caller: Caller, *, repository: SmsRepository, settings: Settings, now: datetime
) -> SendQuote:
    """A dry run: the request checked as a send would be, and its cost per country; nothing
    is stored, queued or reserved."""
    numbers, texts, content = _content(request, caller, settings)
    if request.scheduled_dates or request.recurring_schedule:
        check_schedule(request.scheduled_dates or [], request.recurring_schedule, now)
    prices = repository.prices.all()
    return dry_run_quote(prices, numbers, texts.per_recipient_segments, content.encoding, settings.money.currency)


def send_message(
    request: SendRequest,
    caller: Caller,
    *,
    repository: SmsRepository,
    queue: JobQueue,
    settings: Settings,
    now: datetime,
) -> SendAccepted:
    numbers, texts, content = _content(request, caller, settings)
    prices = repository.prices.all()
    currency = settings.money.currency
    # Each recipient's own parts (personal texts differ), times its price.
    cost = estimate(prices, numbers, texts.per_recipient_segments)
    audience = Audience(numbers, texts.variables)
    if request.scheduled_dates or request.recurring_schedule:
        scheduled = _schedule(request, content, audience, texts.segments_total, repository, settings, now)
        return scheduled.model_copy(update={"cost": send_cost(currency, cost)})
    message_id = new_message_id(now.timestamp())
    message = NewMessage(
        **content.fields(),
        message_id=message_id,
        created_at=now,
        expires_at=now + settings.time.message_lifetime,
        due_at=now + timedelta(seconds=settings.time.release_guard_seconds),
    )
    for attempt in (1, 2):
        try:
            # In the message's own transaction: concurrent sends cannot reserve the same money.
            items = reservation(repository, caller.org_id, message_id, cost, now)
            repository.messages.create(message, audience, estimate=cost, with_items=items)
            break
        except InsufficientBalanceError:
            # The account changed between its read and the write: another send took the money
            # (the read again refuses), or started the day's count under the cap (it fits).
            if attempt == 2:
                raise
    try:
        queue.enqueue(dispatch_jobs(caller.org_id, message_id, len(numbers)))
    except StorageError:
        # Stored is accepted: the sweep queues the jobs of a message whose dispatch has not
        # started after RELEASE_GUARD_SECONDS. An error here would invite the merchant to send
        # it again, and both would go out.
        logger.warning("dispatch jobs not queued; the sweep will", extra={"message_id": message_id})
        metrics.add_metric(name="DispatchJobsDeferred", unit=MetricUnit.Count, value=1)
    return _accepted(content, texts.segments_total, message_id, SmsStatus.PENDING, now, cost=send_cost(currency, cost))


def _accepted(
    content: MessageContent,
    segments_total: int,
    message_id: str,
    status: SmsStatus,
    now: datetime,
    **schedule: Any,
) -> SendAccepted:
    return SendAccepted(
        message_id=message_id,
        status=status,
        total_recipients=content.total,
        encoding=content.encoding,
        segments=content.segments,
        segments_total=segments_total,
        created_at=now,
        reference=content.reference,
        **schedule,
    )


def _schedule(
    request: SendRequest,
    content: MessageContent,
    audience: Audience,
    segments_total: int,
    repository: SmsRepository,
    settings: Settings,
    now: datetime,
) -> SendAccepted:
    dates = request.scheduled_dates or []
    check_schedule(dates, request.recurring_schedule, now)
    schedule = new_schedule(content, request.recurring_schedule, now)
    try:
        occurrences = plan_occurrences(schedule, dates, request.recurring_schedule, settings)
    except OverflowError as error:
        # A date so far ahead that its expiry (date + retention) is past the year 9999.
        raise InvalidScheduleError(
            [{"loc": ["body", "scheduled_dates"], "msg": "too far in the future", "type": "date_out_of_range"}]
        ) from error
    if not occurrences:
        raise InvalidScheduleError(
            [
                {
                    "loc": ["body", "recurring_schedule"],
                    "msg": "the recurrence never fires",
                    "type": "empty_schedule",
                }
            ]
        )
    repository.schedules.create(schedule, audience, occurrences, expires_at=occurrences[-1].expires_at)
    return _accepted(
        content,
        segments_total,
        occurrences[0].message_id,
        SmsStatus.SCHEDULED,
        now,
        schedule_id=schedule.schedule_id,
        occurrences=[
            Occurrence(message_id=message.message_id, scheduled_for=message.scheduled_for or message.due_at)
            for message in occurrences
        ],
    )
