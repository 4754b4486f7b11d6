"""The HTTP request and response as the local gateway sees them, free of any server library."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HttpRequest:
    method: str
    # The path as sent (still percent-encoded) and the raw query string, without the "?".
    path: str
    query: str
    # In arrival order, repeated names kept: API Gateway builds both headers and multiValueHeaders.
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        """The last value of a header, matched case-insensitively (as API Gateway does)."""
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
