"""The HTTP request and response as the local gateway sees them, free of any server library."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 9110/9112: Content-Length is 1*DIGIT, a chunk size 1*HEXDIG, ASCII. int() alone also takes
# "+5", " 5", "1_0", non-ASCII digits, and a negative chunk size would read to the end of the stream.
_DECIMAL = re.compile(r"[0-9]{1,18}")
_HEXADECIMAL = re.compile(rb"[0-9A-Fa-f]{1,15}")


def content_length(header: str | None) -> int:
    """A Content-Length header's value (0 when absent), or ValueError."""
    if not header:
        return 0
    if not _DECIMAL.fullmatch(header):
        raise ValueError(f"Content-Length {header!r} is not a length")
    return int(header)


def chunk_size(line: bytes) -> int:
    """The size on a chunked body's size line (extensions after ";" ignored), or ValueError."""
    size = line.split(b";", 1)[0].strip(b" \t\r\n")
    if not _HEXADECIMAL.fullmatch(size):
        raise ValueError(f"chunk size {size!r} is not a size")
    return int(size, 16)


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
