"""Tenant isolation and authentication over the local stack's HTTP gateway.

Every merchant endpoint, given another organization's ids answers exactly what an unknown id
answers: same status, same bytes, same headers that matter, and no time difference worth
measuring (the DynamoDB work is proved identical in tests/integration/test_stateful_isolation.py;
here the medians of interleaved requests stay close). Webhook settings never cross organizations.
Receipts need the carrier's token; a revoked app-key is refused.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest

from lisoloo.two_way import InboundNumber
from tests.e2e.conftest import LocalStack, admin
from tests.reliability import polite
from tests.reliability.tenants import Tenant, local_repository, new_tenant

pytestmark = pytest.mark.e2e

INVALID_KEY = b'{"detail": "Invalid or missing app-key"}'


@pytest.fixture(scope="module")
def owner(local_stack: LocalStack) -> Tenant:
    return new_tenant(local_stack.moto_url, rate_limit=200, burst_limit=400)


@pytest.fixture(scope="module")
def stranger(local_stack: LocalStack) -> Tenant:
    return new_tenant(local_stack.moto_url, rate_limit=200, burst_limit=400)


@pytest.fixture(scope="module")
def owned(local_stack: LocalStack, owner: Tenant) -> dict[str, str]:
    later = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = polite.post(
        f"{local_stack.base_url}/send",
        json={"to": ["+254712345678"], "message": "private"},
        headers={"app-key": owner.app_key},
    ).json()["data"]
    scheduled = polite.post(
        f"{local_stack.base_url}/send",
        json={"to": ["+254712345678"], "message": "later", "scheduled_dates": [later]},
        headers={"app-key": owner.app_key},
    ).json()["data"]
    now = datetime.now(UTC)
    exported = polite.post(
        f"{local_stack.base_url}/exports",
        json={"created_after": (now - timedelta(days=1)).isoformat(), "created_before": now.isoformat()},
        headers={"app-key": owner.app_key},
    ).json()["data"]
    return {
        "message_id": sent["message_id"],
        "schedule_id": scheduled["schedule_id"],
        "occurrence_id": scheduled["message_id"],
        "event_id": first_event(local_stack, owner),
        "export_id": exported["export_id"],
    }


def first_event(local_stack: LocalStack, owner: Tenant) -> str:
    """The owner's first logged event (the stream poller logs it a moment after the send)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        events = polite.get(f"{local_stack.base_url}/events", headers={"app-key": owner.app_key}).json()["data"]
        if events["events"]:
            event_id: str = events["events"][0]["event_id"]
            return event_id
        time.sleep(0.2)
    raise AssertionError("no event logged for the owner's send")


def fingerprint(response: polite.requests.Response) -> tuple[int, bytes, str, str]:
    return (
        response.status_code,
        response.content,
        response.headers.get("Content-Type", ""),
        response.headers.get("Content-Length", ""),
    )


@pytest.mark.parametrize(
    ("method", "template", "ids"),
    [
        ("GET", "/status/{}", ("message_id", "occurrence_id")),
        ("GET", "/status/{}?recipients_limit=1", ("message_id",)),
        ("GET", "/status/{}?recipients_cursor=1", ("message_id",)),
        ("DELETE", "/schedules/{}", ("schedule_id",)),
        ("GET", "/messages/{}/events", ("message_id", "occurrence_id")),
        ("POST", "/events/{}/redeliver", ("event_id",)),
        ("GET", "/exports/{}", ("export_id",)),
    ],
)
def test_another_organizations_ids_are_indistinguishable_from_unknown_ones(
    local_stack: LocalStack, stranger: Tenant, owned: dict[str, str], method: str, template: str, ids: tuple[str, ...]
) -> None:
    unknown = {
        "message_id": "0" * 24,
        "occurrence_id": "f" * 24,
        "schedule_id": "sch_0000000000000000",
        "event_id": f"evt_{'0' * 24}_queued",
        "export_id": "exp_0000000000000000",
    }
    malformed = {
        "message_id": "nope",
        "occurrence_id": "NOPE",
        "schedule_id": "sch_nope",
        "event_id": "evt_nope!",
        "export_id": "exp_nope",
    }
    for name in ids:
        answers = {
            fingerprint(polite.request(method, local_stack.base_url + template.format(value), headers={"app-key": key}))
            for value, key in [
                (owned[name], stranger.app_key),
                (unknown[name], stranger.app_key),
                (malformed[name], stranger.app_key),
            ]
        }
        assert len(answers) == 1, answers
        (status, body, _, _) = answers.pop()
        assert status == 404 and body in (
            b'{"detail":"Message not found"}',
            b'{"detail":"Schedule not found"}',
            b'{"detail":"Event not found"}',
            b'{"detail":"Export not found"}',
        )


@pytest.mark.parametrize(
    "query",
    ["/messages", "/messages?recipient=%2B254712345678", "/messages?status=pending", "/events", "/webhook/deliveries",
     "/analytics/delivery?group_by=country", "/balance/ledger"],
)  # fmt: skip
def test_lists_never_show_another_organizations_items(
    local_stack: LocalStack, stranger: Tenant, owned: dict[str, str], owner_money: str, query: str
) -> None:
    response = polite.get(local_stack.base_url + query, headers={"app-key": stranger.app_key})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    listed = next(data[name] for name in ("messages", "events", "deliveries", "groups", "entries") if name in data)
    assert listed == [] and owned["message_id"] not in response.text and owner_money not in response.text


@pytest.fixture(scope="module")
def owner_money(local_stack: LocalStack, owner: Tenant) -> str:
    """The owner's balance after a top-up the stranger must never see: an amount no test uses."""
    admin(local_stack, "balance", "top-up", owner.org_id, "731.45", "--reference", "INV-ISOLATION")
    return "731.45"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        # Whatever names the owner in the request, the account read is the app-key's own.
        ("?org_id={org}", {}),
        ("?organization={org}", {}),
        ("", {"x-org-id": "{org}", "x-lisoloo-org-id": "{org}"}),
    ],
)
def test_balance_is_only_ever_the_callers_own(
    local_stack: LocalStack,
    owner: Tenant,
    stranger: Tenant,
    owner_money: str,
    query: str,
    headers: dict[str, str],
) -> None:
    # Given an owner with money and a stranger without
    plain = polite.get(f"{local_stack.base_url}/balance", headers={"app-key": stranger.app_key})
    # When the stranger reads GET /balance naming the owner in the query or headers
    named = {name: value.format(org=owner.org_id) for name, value in headers.items()}
    response = polite.get(
        f"{local_stack.base_url}/balance{query.format(org=owner.org_id)}",
        headers={"app-key": stranger.app_key, **named},
    )
    # Then it is the stranger's own empty account, byte for byte what it reads plainly
    assert response.status_code == 200, response.text
    assert fingerprint(response) == fingerprint(plain)
    assert response.json()["data"]["balance"] == "0.00"
    assert owner_money not in response.text and owner.org_id not in response.text
    # And the owner still reads its own
    mine = polite.get(f"{local_stack.base_url}/balance", headers={"app-key": owner.app_key}).json()["data"]
    assert mine["balance"] == owner_money


def test_the_owner_still_has_everything_the_stranger_tried(
    local_stack: LocalStack, owner: Tenant, stranger: Tenant, owned: dict[str, str]
) -> None:
    polite.delete(f"{local_stack.base_url}/schedules/{owned['schedule_id']}", headers={"app-key": stranger.app_key})
    for message_id in (owned["message_id"], owned["occurrence_id"]):
        response = polite.get(f"{local_stack.base_url}/status/{message_id}", headers={"app-key": owner.app_key})
        assert response.status_code == 200, response.text


def test_no_time_difference_worth_measuring_between_theirs_and_unknown(
    local_stack: LocalStack, stranger: Tenant, owned: dict[str, str]
) -> None:
    timings: dict[str, list[float]] = {"theirs": [], "unknown": []}
    for _ in range(15):
        for label, message_id in (("theirs", owned["message_id"]), ("unknown", "0" * 24)):
            started = time.perf_counter()
            polite.get(f"{local_stack.base_url}/status/{message_id}", headers={"app-key": stranger.app_key})
            timings[label].append(time.perf_counter() - started)
    theirs, unknown = statistics.median(timings["theirs"]), statistics.median(timings["unknown"])
    # Generous on purpose (a shared 2-core machine): an extra lookup for existing ids would
    # show as a steady gap; equal work shows as noise around zero.
    assert abs(theirs - unknown) < max(0.010, 0.5 * min(theirs, unknown)), (theirs, unknown)


def test_webhook_settings_stay_with_their_organization(
    local_stack: LocalStack, owner: Tenant, stranger: Tenant
) -> None:
    base = local_stack.base_url
    put = polite.put(
        f"{base}/webhook", json={"webhook_url": "http://127.0.0.1:9/owner"}, headers={"app-key": owner.app_key}
    )
    assert put.status_code == 200, put.text
    polite.put(
        f"{base}/webhook", json={"webhook_url": "http://127.0.0.1:9/stranger"}, headers={"app-key": stranger.app_key}
    )
    rotated = polite.post(f"{base}/webhook/rotate-secret", headers={"app-key": stranger.app_key}).json()["data"]
    assert rotated["webhook_url"] == "http://127.0.0.1:9/stranger"
    shown = polite.get(f"{base}/webhook", headers={"app-key": owner.app_key}).json()["data"]
    assert shown == {"webhook_url": "http://127.0.0.1:9/owner", "secret_configured": True, "secret": None}
    organization = local_repository(local_stack.moto_url).organizations.get(owner.org_id)
    assert organization.previous_webhook_secret is None  # the stranger's rotation never touched it


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/receipts/sandbox", {}, 401),
        ("/receipts/sandbox", {"x-carrier-token": ""}, 401),
        ("/receipts/sandbox", {"x-carrier-token": "lct_wrong"}, 401),
        ("/receipts/sandbox?token=lct_wrong", {}, 401),
        ("/receipts/sandbox", {"app-key": "{app_key}"}, 401),
        ("/receipts/sandbox", {"x-carrier-token": "{app_key}"}, 401),
        ("/receipts/kannel-nowhere", {"x-carrier-token": "{carrier_token}"}, 404),
        ("/inbound/sandbox", {}, 401),
        ("/inbound/sandbox?token=lct_wrong", {}, 401),
        ("/inbound/sandbox", {"app-key": "{app_key}"}, 401),
        ("/inbound/kannel-nowhere", {"x-carrier-token": "{carrier_token}"}, 404),
    ],
)
def test_receipts_need_the_carriers_own_token(
    local_stack: LocalStack, path: str, headers: dict[str, str], status: int
) -> None:
    filled = {
        name: value.format(app_key=local_stack.app_key, carrier_token=local_stack.carrier_token)
        for name, value in headers.items()
    }
    response = polite.post(
        local_stack.base_url + path, json={"carrier_ref": "x", "status": "delivered"}, headers=filled
    )
    assert response.status_code == status, response.text
    assert set(response.json()) == {"detail"}


def test_a_revoked_key_is_refused_and_its_organizations_other_keys_still_work(local_stack: LocalStack) -> None:
    from lisoloo_admin.provisioning import issue_key

    tenant = new_tenant(local_stack.moto_url)
    repository = local_repository(local_stack.moto_url)
    revoked = issue_key(repository, tenant.org_id)
    repository.organizations.revoke_app_key(tenant.org_id, revoked.key_id, datetime.now(UTC) - timedelta(seconds=1))
    refused = polite.get(f"{local_stack.base_url}/webhook", headers={"app-key": revoked.app_key})
    assert (refused.status_code, refused.content.replace(b" ", b"")) == (401, INVALID_KEY.replace(b" ", b""))
    assert polite.get(f"{local_stack.base_url}/webhook", headers={"app-key": tenant.app_key}).status_code == 200


def test_suppressions_and_inbound_messages_stay_with_their_organization(
    local_stack: LocalStack, owner: Tenant, stranger: Tenant
) -> None:
    # Given the owner suppressed a number and received a reply
    base = local_stack.base_url
    number = "+254712349911"
    assert polite.put(f"{base}/suppressions/{number}", json={}, headers={"app-key": owner.app_key}).status_code == 200
    repository = local_repository(local_stack.moto_url)
    inbound_number = "+254711009911"
    repository.inbound_numbers.assign(InboundNumber(inbound_number, owner.org_id), datetime.now(UTC))
    mo = polite.post(
        f"{local_stack.sandbox_url}/mo", json={"from": "+254712349912", "to": inbound_number, "text": "private reply"}
    )
    assert mo.status_code == 200, mo.text
    # Then the stranger sees neither, cannot lift the owner's suppression (the same 404 as for
    # a number never suppressed), and its own send to that number is not suppressed
    for path in ("/suppressions", "/inbound"):
        listed = polite.get(f"{base}{path}", headers={"app-key": stranger.app_key}).json()["data"]
        assert listed[path.strip("/")] == [], path
    theirs = polite.delete(f"{base}/suppressions/{number}", headers={"app-key": stranger.app_key})
    never = polite.delete(f"{base}/suppressions/+254712349913", headers={"app-key": stranger.app_key})
    assert fingerprint(theirs) == fingerprint(never)
    assert theirs.status_code == 404
    assert repository.suppressions.suppressed(stranger.org_id, [number]) == set()
    assert repository.suppressions.suppressed(owner.org_id, [number]) == {number}
    owned = polite.get(f"{base}/inbound", headers={"app-key": owner.app_key}).json()["data"]["inbound"]
    assert [entry["text"] for entry in owned] == ["private reply"]
