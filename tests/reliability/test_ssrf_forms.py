"""SSRF forms that tests/unit/test_webhook_addresses.py does not already cover: IPv6 spellings
that carry an IPv4 address (NAT64, IPv4-compatible, IPv4-translated, 6to4, Teredo), mixed
hex/decimal dotted forms, names that resolve inside, URL-parser confusions, and, at delivery,
DNS that changes after the check, pinning, and redirects that lead inside.

The verdict must not depend on the Python version's ``ipaddress`` tables: Lambda runs 3.13,
whose ``is_global`` says True for ``64:ff9b::a00:1`` (NAT64 of 10.0.0.1) and ``::7f00:1``; they
are refused there because ``::/8`` is reserved (checked on 3.11 and 3.13).
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from lisoloo.webhooks import delivering
from lisoloo.webhooks.addresses import UnsafeWebhookUrlError, WebhookTarget, check_webhook_url
from lisoloo.webhooks.delivery import post_event
from tests.reliability.loopback import Answer, loopback_server


def resolving_to(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 (RFC 6052) of the metadata address
        "64:ff9b::a00:5",  # NAT64 into a VPC
        "64:ff9b:1::a00:5",  # local-use NAT64 (RFC 8215)
        "::7f00:1",  # IPv4-compatible 127.0.0.1 (deprecated, still parsed)
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1 (RFC 2765)
        "::ffff:7f00:1",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo: the client is ~0x80fffffe, 127.0.0.1
    ],
)
def test_ipv6_forms_that_carry_an_inside_ipv4_are_refused(address: str) -> None:
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url(f"https://[{address}]/hook")
    with pytest.raises(UnsafeWebhookUrlError):  # and behind a name
        check_webhook_url("https://hooks.example.com/", resolve=resolving_to(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://0x7f.1/",
        "https://0x7f.0x0.0x0.0x1/",
        "https://0xa9.0xfe.0xa9.0xfe/",
        "https://2852039166/",  # 169.254.169.254 in decimal
        "https://127.0.0.1./",
        "https://2130706433./",
        "https://0/",
        "https://[::]/",
        "https://[0:0:0:0:0:ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://①②⑦.⓪.⓪.①/",  # IDNA maps these digits to 127.0.0.1
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://198.18.0.1/",  # benchmarking
        "https://[fc00::1]/",  # unique local
        "https://[ff02::1]/",  # multicast
    ],
)
def test_more_spellings_of_inside_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com\\@127.0.0.1/",
        "https://127.0.0.1#@hooks.example.com/",
        "https://127.0.0.1%2f@hooks.example.com/",
        "https://127.0.0.1:443@hooks.example.com/",
        "https://hooks.example.com@169.254.169.254/",
        "https://hooks.example.com/\t@127.0.0.1",
    ],
)
def test_parser_confusions_never_reach_inside(url: str) -> None:
    # Whichever host a confused parser would pick, it is refused: names here resolve to a public
    # address, so only the inside literal (or the credentials) can be the reason.
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url(url, resolve=public_names)


def public_names(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return resolving_to("93.184.215.14")(host, port, **kwargs)
    return resolving_to(host.strip("[]"))(host, port, **kwargs)


@pytest.mark.parametrize(
    "answers",
    [
        ("127.0.0.1",),
        ("10.20.30.40",),
        ("::1",),
        ("93.184.215.14", "169.254.169.254"),
        ("fd00:ec2::254",),
        ("64:ff9b::a9fe:a9fe",),
    ],
)
def test_a_name_resolving_inside_is_refused(answers: tuple[str, ...]) -> None:
    # e.g. 127.0.0.1.nip.io, a rebinding service, or a record an attacker controls
    with pytest.raises(UnsafeWebhookUrlError):
        check_webhook_url("https://127.0.0.1.nip.io/hook", resolve=resolving_to(*answers))


# --- at delivery ---------------------------------------------------------------------------------


def test_dns_that_changes_after_configuration_is_caught_at_delivery_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with loopback_server() as inside:
        answers = iter([("93.184.215.14",), ("127.0.0.1",)])

        def rebinding(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
            return resolving_to(*next(answers))(host, port, **kwargs)

        url = f"https://rebind.example.com:{inside.url.rsplit(':', 1)[1]}/hook"
        check_webhook_url(url, resolve=rebinding)  # at configuration: public
        monkeypatch.setattr(delivering, "check_webhook_url", partial(check_webhook_url, resolve=rebinding))
        job = _job(url)
        assert delivering.deliver(job, _Repository(), _settings(), datetime.now(UTC)) is None  # dropped
        assert inside.requests() == []


def test_delivery_connects_to_the_checked_address_not_to_a_fresh_lookup() -> None:
    with loopback_server() as endpoint:
        port = int(endpoint.url.rsplit(":", 1)[1])
        target = WebhookTarget(
            url=f"http://hooks.example.com:{port}/h",
            scheme="http",
            host="hooks.example.com",
            port=port,
            path="/h",
            address="127.0.0.1",
        )
        assert post_event(target, {"content-type": "application/json"}, "{}", timeout=2).delivered
        (request,) = endpoint.requests("/h")
        assert request["headers"]["host"].startswith("hooks.example.com")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_to_inside_addresses_are_never_followed(status: int) -> None:
    with loopback_server() as endpoint:
        endpoint.script("/h", [Answer(status, headers={"Location": endpoint.url + "/inside"})])
        result = post_event(_target(endpoint.url, "/h"), {}, "{}", timeout=2)
        assert (result.delivered, result.status_code) == (False, status)
        assert endpoint.requests("/inside") == []


# --- helpers ---------------------------------------------------------------------------------------


def _target(base_url: str, path: str) -> WebhookTarget:
    port = int(base_url.rsplit(":", 1)[1])
    return WebhookTarget(
        url=base_url + path, scheme="http", host="127.0.0.1", port=port, path=path, address="127.0.0.1"
    )


def _job(url: str) -> Any:
    from lisoloo.models import WebhookDeliveryJob

    return WebhookDeliveryJob(
        org_id="org_0123456789abcdef",
        message_id="0" * 24,
        event_id="evt_x_queued",
        event_type="sms.queued",
        url=url,
        body="{}",
    )


class _Organizations:
    def get(self, org_id: str) -> Any:
        from lisoloo.organization_entities import OrganizationRecord

        return OrganizationRecord(org_id=org_id, name="x", default_country="KE", webhook_secret="whsec_" + "A" * 32)


class _Repository:
    organizations = _Organizations()


def _settings() -> Any:
    from lisoloo.settings import Settings

    return Settings(table_name="unused", webhook_allow_loopback=False)
