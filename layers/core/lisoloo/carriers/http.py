"""What every HTTP connector shares: one request, how its answer is classified, submitting
a batch one request per recipient within a time budget, and our receipts URL."""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from lisoloo.carriers.base import Submission, SubmitOutcome, SubmitResult
from lisoloo.carriers.secrets import CarrierSecrets, SecretsLoader
from lisoloo.observability import logger

# Carriers answer a submission in a line or a small JSON document; never read more.
_MAX_REPLY_BYTES = 64 * 1024


class CarrierUnreachableError(Exception):
    """No HTTP answer at all: refused, reset, timed out, bad URL. ``sent`` says whether the
    request may have reached the carrier (a timeout, a connection lost mid-way): then it is
    uncertain, otherwise (refused, no such host, bad URL) definitely not taken."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


# Failures that prove the request never reached the carrier's application.
_NOT_SENT = (ConnectionRefusedError, socket.gaierror, ValueError)


def was_sent(error: BaseException) -> bool:
    """Whether a failed request may have been taken: anything but a refused connection, an
    unknown host or a bad URL (urllib wraps those in URLError.reason)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return not isinstance(reason, _NOT_SENT)


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A carrier API that redirects is misconfigured; a redirected POST would turn into a
    GET without its body, so the 3xx comes back as the answer instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def http_call(
    method: str,
    url: str,
    *,
    timeout: float,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpReply:
    """One request; any HTTP status is an answer, anything else raises CarrierUnreachableError."""
    if not url.startswith(("http://", "https://")):
        raise CarrierUnreachableError(f"not an http(s) URL: {url[:40]!r}", sent=False)
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return HttpReply(response.status, response.read(_MAX_REPLY_BYTES).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        with error:
            return HttpReply(error.code, error.read(_MAX_REPLY_BYTES).decode("utf-8", "replace"))
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise CarrierUnreachableError(f"{type(error).__name__}: {error}", sent=was_sent(error)) from error


def outcome_for_status(status: int) -> SubmitOutcome:
    """The usual reading of an HTTP answer to a submission.

    2xx accepted; 408, 429 and 5xx transient (busy, throttled, down); 401 transient too,
    because wrong credentials are ours to fix and the retry window gives time to fix them;
    any other 4xx a permanent rejection of this message; anything else (a redirect,
    1xx) is a misconfiguration and transient.
    """
    if 200 <= status < 300:
        return SubmitOutcome.ACCEPTED
    if status in (401, 408, 429) or status >= 500:
        return SubmitOutcome.TRANSIENT
    if 400 <= status < 500:
        return SubmitOutcome.REJECTED
    return SubmitOutcome.TRANSIENT


def transient(submission: Submission, reason: str, *, outcome: SubmitOutcome = SubmitOutcome.TRANSIENT) -> SubmitResult:
    return SubmitResult(submission.reference, outcome, error_message=reason[:200])


def submit_each(
    carrier: str,
    submissions: Sequence[Submission],
    secrets: SecretsLoader,
    submit_one: Callable[[Submission, CarrierSecrets], SubmitResult],
    *,
    concurrency: int,
    budget_seconds: float,
) -> list[SubmitResult]:
    """The carrier's secrets, then one request per recipient, ``concurrency`` at a time,
    results in submission order.

    Never raises: secrets that cannot be read (missing, forbidden, throttled), a connector
    bug or an unreachable carrier are transient results. Work not started within
    ``budget_seconds`` is not sent at all and comes back transient, so a slow carrier cannot
    run dispatch past its function timeout; the sweep retries it.
    """
    try:
        credentials = secrets()
    except Exception as error:
        logger.error("carrier credentials unavailable", extra={"carrier": carrier, "error": str(error)})
        return [transient(submission, "credentials unavailable") for submission in submissions]
    deadline = time.monotonic() + budget_seconds

    def guarded(submission: Submission) -> SubmitResult:
        if time.monotonic() > deadline:
            return transient(submission, "not sent: dispatch time budget spent")
        try:
            return submit_one(submission, credentials)
        except CarrierUnreachableError as error:
            logger.warning("carrier unreachable", extra={"reference": submission.reference, "error": str(error)})
            return transient(
                submission, str(error), outcome=SubmitOutcome.UNCERTAIN if error.sent else SubmitOutcome.TRANSIENT
            )
        except Exception as error:  # a connector must never fail the whole batch
            # A bug of ours may have struck after the request went: not provably untaken.
            logger.exception("carrier submission failed", extra={"reference": submission.reference})
            return transient(submission, f"{type(error).__name__}", outcome=SubmitOutcome.UNCERTAIN)

    if len(submissions) <= 1 or concurrency <= 1:
        return [guarded(submission) for submission in submissions]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(submissions))) as pool:
        return list(pool.map(guarded, submissions))


def receipts_url(base_url: str, carrier: str, token: str, reference: str) -> str:
    """Our receipts endpoint for one recipient: the carrier's token and our reference in the
    query string, so the receipt needs no lookup item. Both are URL-safe by construction
    (token_urlsafe; ids and digits), and must stay free of ``%``: Kannel reads ``%x`` in a
    dlr-url as its own escape codes."""
    if not base_url:
        raise ValueError("RECEIPTS_BASE_URL is not set: carriers would not know where to send receipts")
    query = urllib.parse.urlencode({"token": token, "ref": reference}, safe="")
    url = f"{base_url.rstrip('/')}/receipts/{urllib.parse.quote(carrier, safe='')}?{query}"
    if "%" in url:
        raise ValueError("the receipts URL must not contain '%' (base URL, token or reference)")
    return url


class SubmitLimits(Protocol):
    @property
    def concurrency(self) -> int: ...

    @property
    def budget_seconds(self) -> float: ...


ConfigT = TypeVar("ConfigT", bound=SubmitLimits)


class HttpCarrier(Generic[ConfigT]):
    """What the HTTP connectors share: their configuration, and a batch submitted one request
    per recipient through ``submit_each``; each connector says how one request goes."""

    name: str
    receipt_acknowledgement: str | None = None

    def __init__(self, config: ConfigT, secrets: SecretsLoader, *, name: str | None = None) -> None:
        self.config = config
        self._secrets = secrets
        if name:
            self.name = name  # two links of one connector type are two carriers

    def submit(self, submissions: Sequence[Submission]) -> list[SubmitResult]:
        return submit_each(
            self.name,
            submissions,
            self._secrets,
            self._submit_one,
            concurrency=self.config.concurrency,
            budget_seconds=self.config.budget_seconds,
        )

    def _submit_one(self, submission: Submission, secrets: CarrierSecrets) -> SubmitResult:
        raise NotImplementedError
