"""The README's "Finding things" walk, over HTTP on the running local stack: find a message by
reference, status and number; read events after a cursor and redeliver one; export a range as
CSV and download it from the link; see delivery by country."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.e2e.test_merchant_journeys import send
from tests.reliability import polite
from tests.reliability.tenants import Tenant, new_tenant

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def merchant(local_stack: LocalStack) -> Tenant:
    return new_tenant(local_stack.moto_url, rate_limit=200, burst_limit=400)


def get(stack: LocalStack, tenant: Tenant, path: str, **query: str) -> dict[str, Any]:
    reply = polite.get(f"{stack.base_url}{path}", params=query, headers={"app-key": tenant.app_key}, timeout=10)
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


def test_find_replay_export_and_analyse(local_stack: LocalStack, merchant: Tenant) -> None:
    reference = f"order-{uuid.uuid4().hex[:8]}"
    # Given a delivered message with a reference and a message with a failed number
    ok = send(local_stack, {"to": ["+254712345678"], "message": "code", "reference": reference}, merchant.app_key)
    mixed = send(local_stack, {"to": ["+254712340001", "+255712345678"], "message": "parcel"}, merchant.app_key)
    ok_id, mixed_id = ok.json()["data"]["message_id"], mixed.json()["data"]["message_id"]
    assert wait_until_final_for(local_stack, merchant, ok_id)["status"] == "delivered"
    wait_until_final_for(local_stack, merchant, mixed_id)

    # Then it is found by reference, by status and by number (a '+' in a query is %2B)
    assert [m["message_id"] for m in get(local_stack, merchant, "/messages", reference=reference)["messages"]] == [
        ok_id
    ]
    assert ok_id in [m["message_id"] for m in get(local_stack, merchant, "/messages", status="delivered")["messages"]]
    found = get(local_stack, merchant, "/messages", recipient="+254712345678")["messages"]
    assert [m["message_id"] for m in found] == [ok_id] and found[0]["reference"] == reference

    # And its events are read after a cursor (logged by the stream's poller a moment after the
    # status turned), and one redelivered
    deadline = time.monotonic() + 20
    while True:
        first = get(local_stack, merchant, "/events", limit="2")
        rest = get(local_stack, merchant, "/events", after=first["after"])
        types = [event["type"] for event in first["events"] + rest["events"]]
        if types.count("sms.delivered") + types.count("sms.failed") >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert types.count("sms.queued") == 2 and "sms.delivered" in types
    delivered = next(e for e in rest["events"] if e["type"] == "sms.delivered")
    redelivered = polite.post(
        f"{local_stack.base_url}/events/{delivered['event_id']}/redeliver", headers={"app-key": merchant.app_key}
    )
    assert redelivered.status_code == 202, redelivered.text

    # And yesterday-to-now exports as CSV, downloadable from this machine
    now = datetime.now(UTC)
    body = {
        "created_after": (now - timedelta(days=1)).isoformat(),
        "created_before": (now + timedelta(minutes=1)).isoformat(),
    }
    export_id = polite.post(f"{local_stack.base_url}/exports", json=body, headers={"app-key": merchant.app_key}).json()[
        "data"
    ]["export_id"]
    export = wait_for_export(local_stack, merchant, export_id)
    rows = list(csv.DictReader(io.StringIO(requests.get(export["url"], timeout=10).text)))
    assert len(rows) == export["rows"] == 3
    assert {row["to"]: row["status"] for row in rows} == {
        "+254712345678": "delivered",
        "+254712340001": "undelivered",
        "+255712345678": "delivered",
    }

    # And delivery by country shows the rate and a latency
    groups = {g["key"]: g for g in get(local_stack, merchant, "/analytics/delivery", group_by="country")["groups"]}
    assert (groups["KE"]["delivered"], groups["KE"]["failed"], groups["KE"]["delivery_rate"]) == (1, 1, 0.5)
    assert groups["TZ"]["receipt_latency_ms"]["p50"] is not None


def wait_until_final_for(stack: LocalStack, tenant: Tenant, message_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        data = get(stack, tenant, f"/status/{message_id}")
        if data["pending"] == 0 or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


def wait_for_export(stack: LocalStack, tenant: Tenant, export_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        data = get(stack, tenant, f"/exports/{export_id}")
        if data["status"] == "done" or time.monotonic() > deadline:
            assert data["status"] == "done", data
            return data
        time.sleep(0.3)
