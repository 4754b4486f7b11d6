"""The error catalogue merchants see on recipients, and the domain errors handlers map to HTTP."""

from __future__ import annotations

from enum import IntEnum
from http import HTTPStatus
from typing import Any

from lisoloo.status import SmsStatus


class ErrorCode(IntEnum):
    """Codes on a failed recipient (``error_code``); the name is its ``error_message``."""

    INVALID_NUMBER = 1400
    CARRIER_REJECTED = 1401
    UNDELIVERED = 1402
    EXPIRED = 1403
    PARTIALLY_DELIVERED = 1404
    DELIVERY_UNKNOWN = 1405
    OPTED_OUT = 1406  # the organization's suppression list holds the number: never submitted
    NO_ROUTE = 1407  # no route serves the destination: never submitted
    # A scheduled occurrence the balance could not cover when it came due: never submitted.
    INSUFFICIENT_BALANCE = 1420
    # One that would pass the organization's daily spend cap that day: never submitted.
    DAILY_SPEND_LIMIT = 1421
    CARRIER_UNAVAILABLE = 1502
    SMS_TIMEOUT = 1503
    INTERNAL_FAILURE = 1500


# The code a recipient carries when a carrier reports it in a non-success terminal state.
ERROR_FOR_TERMINAL_STATUS: dict[SmsStatus, ErrorCode] = {
    SmsStatus.REJECTED: ErrorCode.CARRIER_REJECTED,
    SmsStatus.UNDELIVERED: ErrorCode.UNDELIVERED,
    SmsStatus.EXPIRED: ErrorCode.EXPIRED,
    SmsStatus.PARTIALLY_DELIVERED: ErrorCode.PARTIALLY_DELIVERED,
    SmsStatus.DELIVERY_UNKNOWN: ErrorCode.DELIVERY_UNKNOWN,
    SmsStatus.FAILED: ErrorCode.INTERNAL_FAILURE,
}


def error_for_status(status: SmsStatus) -> ErrorCode | None:
    return ERROR_FOR_TERMINAL_STATUS.get(status)


class DomainError(Exception):
    """An error a merchant or carrier caused; answered as ``{"detail": ...}`` with ``http_status``."""

    http_status: HTTPStatus = HTTPStatus.BAD_REQUEST
    # A sentence, or a list of {loc, msg, type} like request-validation errors.
    detail: Any = "Bad request"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail


class MessageNotFoundError(DomainError):
    # One text for unknown, malformed and other-tenant ids, so a 404 never leaks existence.
    http_status = HTTPStatus.NOT_FOUND
    detail = "Message not found"


class ScheduleNotFoundError(DomainError):
    http_status = HTTPStatus.NOT_FOUND
    detail = "Schedule not found"


class SuppressionNotFoundError(DomainError):
    # Unknown numbers and numbers only another organization suppressed answer alike.
    http_status = HTTPStatus.NOT_FOUND
    detail = "Suppression not found"


class EventNotFoundError(DomainError):
    # One text for unknown, malformed and other-tenant event ids, as for messages.
    http_status = HTTPStatus.NOT_FOUND
    detail = "Event not found"


class ExportNotFoundError(DomainError):
    http_status = HTTPStatus.NOT_FOUND
    detail = "Export not found"


class CarrierNotFoundError(DomainError):
    http_status = HTTPStatus.NOT_FOUND
    detail = "Carrier not found"


class InvalidCarrierTokenError(DomainError):
    http_status = HTTPStatus.UNAUTHORIZED
    detail = "Invalid or missing carrier token"


class InvalidRecipientsError(DomainError):
    """Entries of ``to`` that are not phone numbers, or that repeat another entry."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidTemplateError(DomainError):
    """A message whose ``{{``/``}}`` are not all placeholders, or a recipient without a value
    for one of them, or whose text once filled in is too long (DESIGN §12)."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidSenderIdError(DomainError):
    """A sender_id the organization has not registered (when it has registered some)."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidDeliverWithinError(DomainError):
    """``deliver_within`` on a text of several parts: deliver-by is for one-part texts (DESIGN §8)."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidScheduleError(DomainError):
    """Scheduled dates in the past or repeated, dates with a recurrence, or a recurrence that
    would never fire."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidCursorError(DomainError):
    """A cursor that no page of ours gave out, answered like a request-validation error."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(
        self,
        parameter: str = "recipients_cursor",
        rule: str = "must be a recipients_cursor from an earlier page: a position, up to 5 ASCII digits",
    ) -> None:
        super().__init__([{"loc": ["query", parameter], "msg": rule, "type": "cursor"}])


class OrganizationNotFoundError(DomainError):
    """A write for an organization that does not exist (operator tooling, tests)."""

    http_status = HTTPStatus.NOT_FOUND
    detail = "Organization not found"


class StorageError(Exception):
    """DynamoDB or SQS did not do what was asked, and its answer was not about the request's
    own condition: unavailable, refused, or throttled past the SDK's retries."""


class StorageBusyError(StorageError):
    """DynamoDB throttled or a transaction kept conflicting; the caller retries later."""


class InsufficientBalanceError(DomainError):
    """The available balance (balance + credit limit) cannot cover a send's estimate."""

    http_status = HTTPStatus.PAYMENT_REQUIRED
    detail = "Insufficient balance"


class DailySpendLimitError(DomainError):
    """The organization's daily spend cap cannot cover a send's estimate today (UTC)."""

    http_status = HTTPStatus.PAYMENT_REQUIRED
    detail = "Daily spend limit reached"
