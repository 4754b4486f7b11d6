"""Exports on moto: POST /exports queues one, the worker writes one row per recipient to S3,
GET /exports/{id} links to it; another organization's ids answer the same 404 as unknown ones."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from lisoloo.entities import RecipientKey
from tests.integration.conftest import Harness, Merchant, drain_queue

API = "/api/v1/lisoloo/sms-api"


def create_export(harness: Harness, merchant: Merchant, body: dict[str, Any]) -> tuple[int, Any]:
    code, parsed, _ = harness.api("exports", "send-single", merchant, path=f"{API}/exports", body=body)
    return code, parsed


def export_status(harness: Harness, merchant: Merchant, export_id: str) -> tuple[int, Any, str]:
    return harness.api(
        "exports",
        "status-get",
        merchant,
        path=f"{API}/exports/{export_id}",
        path_parameters={"export_id": export_id},
    )


def file_of(url: str) -> str:
    """The object a pre-signed link names (in-process moto answers boto3, not a browser)."""
    parsed = urlparse(url)
    assert "X-Amz-Signature=" in parsed.query
    # Virtual-hosted (bucket.s3.amazonaws.com/key) or path style (host/bucket/key)
    if parsed.netloc.startswith("s3.") or ":" in parsed.netloc:
        bucket, key = parsed.path.lstrip("/").split("/", 1)
    else:
        bucket, key = parsed.netloc.split(".")[0], parsed.path.lstrip("/")
    body: bytes = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode()


def whole_range() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "created_after": (now - timedelta(days=1)).isoformat(),
        "created_before": (now + timedelta(minutes=5)).isoformat(),
    }


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_export_has_one_row_per_recipient_with_its_state(harness: Harness, file_format: str) -> None:
    # Given two messages: one with a reference, delivered to its one number; one of 250 numbers
    merchant = harness.new_merchant()
    _, first = harness.send(merchant, {"to": ["+254712345678"], "message": "a", "reference": "order-9"})
    _, second = harness.send(merchant, {"to": [f"+2547123{i:05d}" for i in range(250)], "message": "b"})
    harness.dispatch_queued()
    first_id = first["data"]["message_id"]
    harness.receipt(RecipientKey(merchant.org_id, first_id, 0).reference, "delivered")
    # When the merchant asks for an export and the worker runs
    code, accepted = create_export(harness, merchant, {**whole_range(), "format": file_format})
    assert code == 202, accepted
    export_id = accepted["data"]["export_id"]
    assert export_status(harness, merchant, export_id)[1]["data"]["status"] == "pending"
    drain_queue("export_worker")
    # Then it is done, with a link to a file of one row per recipient
    code, body, _ = export_status(harness, merchant, export_id)
    data = body["data"]
    assert (code, data["status"], data["rows"]) == (200, "done", 251)
    text = file_of(data["url"])
    rows = (
        list(csv.DictReader(io.StringIO(text)))
        if file_format == "csv"
        else [json.loads(line) for line in text.splitlines()]
    )
    assert len(rows) == 251
    assert list(rows[0]) == [
        "message_id", "reference", "to", "status", "error_code", "segments", "cost", "created_at", "updated_at"
    ]  # fmt: skip
    (delivered,) = [row for row in rows if row["message_id"] == first_id]
    assert (delivered["reference"], delivered["to"], delivered["status"]) == ("order-9", "+254712345678", "delivered")
    assert sorted(row["to"] for row in rows if row["message_id"] == second["data"]["message_id"]) == sorted(
        f"+2547123{i:05d}" for i in range(250)
    )


def test_a_ten_thousand_recipient_export_has_ten_thousand_rows(harness: Harness) -> None:
    merchant = harness.new_merchant()
    code, _ = harness.send(merchant, {"to": [f"+2547{i:08d}" for i in range(10_000)], "message": "big"})
    assert code == 200
    _, accepted = create_export(harness, merchant, whole_range())
    drain_queue("export_worker")
    data = export_status(harness, merchant, accepted["data"]["export_id"])[1]["data"]
    assert (data["status"], data["rows"]) == ("done", 10_000)
    assert len(file_of(data["url"]).splitlines()) == 10_001  # the header and a row each


def test_other_tenants_unknown_and_malformed_export_ids_answer_identical_404s(harness: Harness) -> None:
    owner, stranger = harness.new_merchant(), harness.new_merchant()
    _, accepted = create_export(harness, owner, whole_range())
    export_id = accepted["data"]["export_id"]
    answers = {
        (code, raw)
        for code, _, raw in [
            export_status(harness, stranger, export_id),
            export_status(harness, owner, "exp_0000000000000000"),
            export_status(harness, owner, "nope"),
        ]
    }
    assert answers == {(404, '{"detail":"Export not found"}')}
    drain_queue("export_worker")


@pytest.mark.parametrize(
    "body",
    [
        {"created_after": "2026-12-02T00:00:00Z", "created_before": "2026-12-01T00:00:00Z"},
        {"created_after": "2026-12-01T00:00:00", "created_before": "2026-12-02T00:00:00Z"},
        {"created_after": "2026-12-01T00:00:00Z", "created_before": "2026-12-02T00:00:00Z", "format": "xlsx"},
        {"created_before": "2026-12-02T00:00:00Z"},
    ],
)
def test_a_bad_export_request_is_422(harness: Harness, body: dict[str, str]) -> None:
    assert create_export(harness, harness.new_merchant(), body)[0] == 422
