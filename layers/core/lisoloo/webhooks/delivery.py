"""POSTing one signed event to one target: pinned address, no redirects, 15 s, 2xx or retry."""

from __future__ import annotations

import http.client
import random
import socket
import ssl
import time
from dataclasses import dataclass

from lisoloo.webhooks.addresses import WebhookTarget

TIMEOUT_SECONDS = 15.0
# Retries back off from the first delay (30 s by default), doubling to a 6 h cap, with
# jitter: about a day over 14 tries (the queue's maxReceiveCount), then the dead-letter queue.
MAX_RETRY_SECONDS = 6 * 3600


def retry_delay_seconds(attempt: int, first_retry_seconds: int = 30) -> int:
    """Seconds before retry number ``attempt`` (1-based): exponential with equal jitter."""
    ceiling = min(MAX_RETRY_SECONDS, first_retry_seconds * 2 ** (attempt - 1))
    return int(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311 - jitter, not security


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    status_code: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address while TLS still verifies the certificate for the host."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def post_event(
    target: WebhookTarget, headers: dict[str, str], body: str, timeout: float = TIMEOUT_SECONDS
) -> DeliveryResult:
    """One attempt. A 3xx is a failure: redirects are never followed (they could lead inside)."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # drain a little; the body is not ours to keep
        return DeliveryResult(status_code=response.status)
    except (OSError, http.client.HTTPException) as error:
        return DeliveryResult(status_code=None, error=f"{type(error).__name__} after {time.monotonic() - started:.1f}s")
    finally:
        connection.close()
