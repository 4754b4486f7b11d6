"""Where a webhook may go: https to a public address, checked when it is configured and again,
with the address pinned, when it is delivered, so DNS rebinding cannot reach inside.

Every resolved address counts: decimal, octal and hex IP spellings resolve like any name, and
IPv4-mapped, 6to4 and Teredo IPv6 forms are judged by the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from lisoloo.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]

# Cloud metadata endpoints that are not already link-local or private.
_METADATA = frozenset(ipaddress.ip_address(address) for address in ("100.100.100.200", "192.0.0.192", "fd00:ec2::254"))
MAX_URL_LENGTH = 2_048


class UnsafeWebhookUrlError(DomainError):
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A checked URL and the one address it will be delivered to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def carried_ipv4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in (address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None):
            if embedded is not None:
                return embedded
    return address


def is_public(address: IPAddress) -> bool:
    address = carried_ipv4(address)
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_link_local
        and address not in _METADATA
    )


def check_webhook_url(
    url: str, *, allow_loopback: bool = False, resolve: Resolver = socket.getaddrinfo
) -> WebhookTarget:
    """The target to deliver to, or UnsafeWebhookUrlError saying why not. ``allow_loopback``
    (the local stack only) admits http and https to 127.0.0.0/8 and ::1, nothing else private."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookUrlError("webhook URL is too long")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeWebhookUrlError("webhook URL is not a valid URL") from error
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_loopback and scheme == "http"):
        raise UnsafeWebhookUrlError("webhook URL must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookUrlError("webhook URL must not carry credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(character.isspace() or ord(character) < 0x20 for character in url):
        raise UnsafeWebhookUrlError("webhook URL has no valid host")
    port = port or (443 if scheme == "https" else 80)
    try:
        answers = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeWebhookUrlError("webhook URL host does not resolve") from error
    addresses = [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]
    if not addresses:
        raise UnsafeWebhookUrlError("webhook URL host does not resolve")
    for address in addresses:
        loopback = carried_ipv4(address).is_loopback
        if not (is_public(address) or (allow_loopback and loopback)):
            raise UnsafeWebhookUrlError("webhook URL must not point at a private, loopback or metadata address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookTarget(url=url, scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
