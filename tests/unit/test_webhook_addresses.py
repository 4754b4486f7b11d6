"""Where a webhook may go: the SSRF list, checked on resolved addresses."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lisoloo.webhooks.addresses import UnsafeWebhookUrlError, check_webhook_url


def resolving_to(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1/hook",
        "https://2130706433/hook",  # decimal
        "https://0x7f000001/hook",  # hex
        "https://017700000001/hook",  # octal
        "https://0177.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "https://[::ffff:a9fe:a9fe]/hook",  # mapped metadata address
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://100.100.100.200/",
        "https://[fe80::1]/",
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://localhost/hook",
        "https://localhost./hook",
        "https://LOCALHOST/hook",
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("https://user:pass@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com:99999/x", "valid URL"),
        ("https:///nohost", "host"),
        ("https://hooks.example.com/x\r\nX-Injected: 1", "host"),
        ("https://" + "a" * 3000 + ".example.com/", "too long"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, why: str) -> None:
    with pytest.raises(UnsafeWebhookUrlError, match=why):
        check_webhook_url(url, resolve=resolving_to("93.184.215.14"))


def test_a_public_address_is_pinned() -> None:
    target = check_webhook_url("https://hooks.example.com/sms?x=1", resolve=resolving_to("93.184.215.14"))
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/sms?x=1")
    assert target.address == "93.184.215.14"


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url("https://rebind.example.com/", resolve=resolving_to("93.184.215.14", "10.1.2.3"))


def test_a_name_that_rebinds_after_configuration_is_refused_at_delivery() -> None:
    answers = iter([("93.184.215.14",), ("169.254.169.254",)])

    def rebinding(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        return resolving_to(*next(answers))(host, port, **kwargs)

    check_webhook_url("https://rebind.example.com/", resolve=rebinding)  # at configuration
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url("https://rebind.example.com/", resolve=rebinding)  # at delivery


def test_the_local_stack_setting_admits_loopback_only() -> None:
    assert check_webhook_url("http://127.0.0.1:8080/h", allow_loopback=True).address == "127.0.0.1"
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url("http://10.0.0.1/h", allow_loopback=True)
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url("http://169.254.169.254/", allow_loopback=True)
