"""The exceptions: each carries the API's ``detail`` and the HTTP ``status_code``.

Nothing here holds the request, so no message or repr can carry the app-key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lisoloo_client.models import MessageStatus

# 422's detail is a list of {loc, msg, type}; every other error's is a string.
Detail = str | list[dict[str, Any]]


class LisolooError(Exception):
    """Every error the client raises. ``status_code`` is None when no HTTP answer came."""

    def __init__(self, detail: Detail, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}" if self.status_code is not None else str(self.detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(detail={self.detail!r}, status_code={self.status_code!r})"


class APIConnectionError(LisolooError):
    """No answer (connection refused, reset, timed out) after every retry."""

    @classmethod
    def of(cls, error: Exception) -> APIConnectionError:
        # The error's name only: httpx's messages are safe, but a proxy's may echo the request.
        return cls(f"No answer from the API ({type(error).__name__})")


class BadRequest(LisolooError):
    """400: a body that could not be read."""


class AuthenticationError(LisolooError):
    """401: a missing or wrong app-key."""


class PaymentRequired(LisolooError):
    """402: the balance cannot cover the send, or the daily spend limit is reached."""


class NotFound(LisolooError):
    """404: no such message, event or suppression for this organization."""


class Conflict(LisolooError):
    """409: a send with this Idempotency-Key is still in progress (retried before it is raised)."""


class ValidationError(LisolooError):
    """422: ``detail`` lists the problems (``loc``, ``msg``, ``type``), or names the rule broken."""


class RateLimited(LisolooError):
    """429 after every retry."""


class ServerError(LisolooError):
    """5xx after every retry."""


class DeliveryTimeout(LisolooError):
    """:meth:`Client.wait_for_delivery` ran out of time; ``last_status`` is what it saw last."""

    def __init__(self, detail: str, last_status: MessageStatus) -> None:
        super().__init__(detail)
        self.last_status = last_status

    @classmethod
    def of(cls, last_status: MessageStatus, timeout: float) -> DeliveryTimeout:
        detail = f"Message {last_status.message_id} is still {last_status.status.value} after {timeout:g} s"
        return cls(detail, last_status)


class WebhookVerificationError(LisolooError):
    """A webhook whose signature, id or timestamp does not check out: answer it 4xx, do not act on it."""


_BY_STATUS: dict[int, type[LisolooError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: PaymentRequired,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
    429: RateLimited,
}


def error_for(status_code: int, detail: Detail) -> LisolooError:
    """The exception for an HTTP error answer."""
    if status_code >= 500:
        return ServerError(detail, status_code)
    return _BY_STATUS.get(status_code, LisolooError)(detail, status_code)
