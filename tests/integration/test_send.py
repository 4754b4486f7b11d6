"""POST /send through the real handler, on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.integration.conftest import Harness, Merchant


def test_single_send_answers_with_a_message_id_and_queues_one_job(harness: Harness) -> None:
    # Given a merchant
    merchant = harness.new_merchant()
    # When it sends one text to one number
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Your code is 4821"})
    # Then the reply is the success envelope with the message as pending
    assert code == 200
    data = body["data"]
    assert body["status_code"] == 200
    assert data["status"] == "pending"
    assert data["total_recipients"] == 1
    assert (data["encoding"], data["segments"]) == ("GSM-7", 1)
    assert data["created_at"].endswith("Z")
    assert len(data["message_id"]) == 24
    # And exactly one dispatch job for that message waits on the queue
    jobs = [json.loads(job["Body"]) for job in harness.queued_jobs()]
    assert jobs == [{"org_id": merchant.org_id, "message_id": data["message_id"], "chunk": 0}]


def test_national_numbers_use_the_organizations_country(harness: Harness) -> None:
    merchant = harness.new_merchant(default_country="KE")
    code, body = harness.send(merchant, {"to": ["0712 345 678"], "message": "hi"})
    assert code == 200
    _, status = harness.status(merchant, body["data"]["message_id"])
    assert status["data"]["recipients"][0]["to"] == "+254712345678"


def test_a_large_batch_is_one_message_in_chunks_of_one_hundred(harness: Harness) -> None:
    merchant = harness.new_merchant()
    numbers = [f"+2547{index:08d}" for index in range(10_000)]
    code, body = harness.send(merchant, {"to": numbers, "message": "Big batch"})
    assert code == 200
    assert body["data"]["total_recipients"] == 10_000
    chunks = sorted(json.loads(job["Body"])["chunk"] for job in harness.queued_jobs())
    assert chunks == list(range(100))


def test_unicode_text_reports_ucs2_segments(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "Habari 👋" * 10})
    assert code == 200
    assert body["data"]["encoding"] == "UCS-2"
    assert body["data"]["segments"] == 2


def test_duplicates_after_normalisation_are_refused_naming_them(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, body, _ = harness.api(
        "send", "send-single", merchant, body={"to": ["+254712345678", "0712345678"], "message": "x"}
    )
    assert code == 422
    assert body["detail"][0]["loc"] == ["body", "to", 1]
    assert "to[0]" in body["detail"][0]["msg"]
    assert harness.queued_jobs() == []


def test_malformed_requests_get_422_with_detail_and_nothing_is_queued(harness: Harness) -> None:
    merchant = harness.new_merchant()
    cases = [
        load_invalid_event_body(),
        json.dumps({"to": [], "message": "x"}),
        json.dumps({"to": ["+254712345678"] * 1, "message": "x" * 1601}),
        json.dumps({"to": ["+254712345678"], "message": "x", "unexpected": True}),
        json.dumps({"to": ["+254712345678"], "message": "x", "sender_id": "A\r\nX-Injected: 1"}),
        json.dumps({"to": "+254712345678", "message": "x"}),
        json.dumps({"to": ["hello"], "message": "x"}),
        json.dumps(["not", "an", "object"]),
        "{not json",
        "",
    ]
    for raw in cases:
        code, body, _ = harness.api("send", "send-single", merchant, raw_body=raw)
        assert code == 422, raw
        assert isinstance(body["detail"], list) and body["detail"], raw
        assert {"loc", "msg", "type"} <= set(body["detail"][0]), raw
    assert harness.queued_jobs() == []


def load_invalid_event_body() -> str:
    from tests.conftest import load_event

    body: str = load_event("send-invalid")["body"]
    return body


def test_a_repeated_idempotency_key_returns_the_first_reply_and_sends_once(harness: Harness) -> None:
    merchant, other = harness.new_merchant(), harness.new_merchant()
    body = {"to": ["+254712345678"], "message": "pay 100"}
    headers = {"Idempotency-Key": "order-1182-attempt"}
    first = harness.api("send", "send-single", merchant, body=body, headers=headers)
    again = harness.api("send", "send-single", merchant, body=body, headers=headers)
    # Then the same reply, one message, one job
    assert first[0] == again[0] == 200
    assert first[1] == again[1]
    assert len(harness.queued_jobs()) == 1
    # And the same key from another organization is its own request
    theirs = harness.api("send", "send-single", other, body=body, headers=headers)
    assert theirs[1]["data"]["message_id"] != first[1]["data"]["message_id"]
    harness.queued_jobs()


def test_an_idempotency_key_reused_with_another_body_is_422(harness: Harness) -> None:
    merchant = harness.new_merchant()
    headers = {"Idempotency-Key": "key-1"}
    harness.api("send", "send-single", merchant, body={"to": ["+254712345678"], "message": "a"}, headers=headers)
    code, body, _ = harness.api(
        "send", "send-single", merchant, body={"to": ["+254712345678"], "message": "b"}, headers=headers
    )
    assert code == 422
    assert "different request body" in body["detail"]
    code, body, _ = harness.api(
        "send",
        "send-single",
        merchant,
        body={"to": ["+254712345678"], "message": "a"},
        headers={"Idempotency-Key": "é"},
    )
    assert code == 422
    assert len(harness.queued_jobs()) == 1


def stored_messages_and_schedules(harness: Harness, merchant: Merchant) -> list[str]:
    """The partition keys of every message and schedule the organization has (none after a 422)."""
    from lisoloo.storage import keys

    prefix = keys.org_pk(merchant.org_id) + "#"
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=harness.table_name)
    return sorted({item["PK"]["S"] for page in pages for item in page["Items"] if item["PK"]["S"].startswith(prefix)})


def in_days(days: int, offset: str = "Z") -> str:
    """A whole second ``days`` from now, written with ``offset`` (the same instant whatever it is)."""
    moment = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    if offset == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign, hours, minutes = offset[0], int(offset[1:3]), int(offset[4:6])
    shift = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    return (moment + shift).strftime("%Y-%m-%dT%H:%M:%S") + offset


@pytest.mark.parametrize(
    ("extra", "headers", "loc"),
    [
        # "$" matches before a final newline: each of these was accepted (the reference echoed)
        ({"sender_id": "ABC\n"}, {}, ["body", "sender_id"]),
        ({"reference": "abc\n"}, {}, ["body", "reference"]),
        ({"recurring_schedule": {"cron": "0 9 * * *\n"}}, {}, ["body", "recurring_schedule", "cron"]),
        # croniter reads an Arabic-Indic zero as a minute
        ({"recurring_schedule": {"cron": "\u0660 9 * * *"}}, {}, ["body", "recurring_schedule", "cron"]),
        ({"recurring_schedule": {"cron": "0 9 * * MON", "max_occurrences": "12\n"}}, {}, None),
        ({}, {"Idempotency-Key": "order-1182\n"}, None),
    ],
)
def test_values_with_a_trailing_newline_or_foreign_digits_are_422(
    harness: Harness, extra: dict[str, Any], headers: dict[str, str], loc: list[str] | None
) -> None:
    # Given a merchant
    merchant = harness.new_merchant()
    # When a send carries a value that only matches its rule up to a final "\n", or an Arabic-Indic digit
    code, body, _ = harness.api(
        "send", "send-single", merchant, body={"to": ["+254712345678"], "message": "x", **extra}, headers=headers
    )
    # Then it is a 422 naming the field, and nothing is stored or queued
    assert code == 422, body
    if loc is not None:
        assert [problem["loc"] for problem in body["detail"]] == [loc]
    assert stored_messages_and_schedules(harness, merchant) == []
    assert harness.queued_jobs() == []


def test_one_instant_twice_in_scheduled_dates_is_422_naming_it(harness: Harness) -> None:
    # Given a merchant
    merchant = harness.new_merchant()
    # When it schedules one instant twice, once in UTC and once at +03:00, next to another date
    dates = [in_days(1), in_days(2), in_days(1, "+03:00")]
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": dates})
    # Then the repeat is named, with the date it repeats, and no schedule exists
    assert code == 422, body
    assert body["detail"] == [
        {
            "loc": ["body", "scheduled_dates", 2],
            "msg": f"{dates[0]} repeats scheduled_dates[0]",
            "type": "duplicate_date",
        }
    ]
    assert stored_messages_and_schedules(harness, merchant) == []
    # And the same dates without the repeat are two occurrences
    code, body = harness.send(merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": dates[:2]})
    assert code == 200, body
    assert [occurrence["scheduled_for"] for occurrence in body["data"]["occurrences"]] == dates[:2]


def test_a_scheduled_date_that_is_also_a_time_of_the_recurrence_is_422(harness: Harness) -> None:
    # Given a merchant, a daily recurrence at 06:00 UTC, its first and second times
    merchant = harness.new_merchant()
    now = datetime.now(UTC)
    first = now.replace(hour=6, minute=0, second=0, microsecond=0)
    first += timedelta(days=1) if first <= now else timedelta(0)
    second, extra = first + timedelta(days=1), in_days(1)
    daily = {"cron": "0 6 * * *", "timezone": "UTC"}

    def send(dates: list[datetime | str]) -> tuple[int, Any]:
        written = [d if isinstance(d, str) else d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in dates]
        return harness.send(
            merchant, {"to": ["+254712345678"], "message": "x", "scheduled_dates": written, "recurring_schedule": daily}
        )

    # When one send carries the recurrence and, among its dates, its second time again
    code, body = send([extra, second])
    # Then it is a 422 naming the date, and no schedule exists
    assert code == 422, body
    assert [(problem["loc"], problem["type"]) for problem in body["detail"]] == [
        (["body", "scheduled_dates", 1], "duplicate_date")
    ]
    assert stored_messages_and_schedules(harness, merchant) == []
    # And without it, the schedule is the union: the date and the recurrence's first time
    code, body = send([extra])
    assert code == 200, body
    expected = sorted([extra, first.strftime("%Y-%m-%dT%H:%M:%SZ")])
    assert sorted(occurrence["scheduled_for"] for occurrence in body["data"]["occurrences"]) == expected
