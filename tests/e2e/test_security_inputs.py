"""Bad input over the local stack's HTTP gateway: every answer is a 4xx with ``{"detail": ...}``,
never a 5xx (DESIGN §2: "Nothing answers 5xx for bad input").

Each case is raw bytes on the wire, so nothing a client library would tidy up is lost: oversized
bodies, deep nesting, invalid UTF-8, control characters and header-injection attempts in
``sender_id`` and ``reference``, odd content types, values at the edge of what dates and cron
expressions can represent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalStack
from tests.reliability import polite

pytestmark = pytest.mark.e2e

NUMBER = "+254712345678"
GATEWAY_LIMIT_BYTES = 10 * 1024 * 1024


def post_raw(stack: LocalStack, path: str, body: bytes, content_type: str = "application/json") -> requests.Response:
    return polite.post(
        f"{stack.base_url}{path}",
        data=body,
        headers={"app-key": stack.app_key, "Content-Type": content_type},
        timeout=60,
    )


def assert_client_error(response: requests.Response, *expected: int) -> Any:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert response.status_code in expected, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail, response.text
    return detail


def send_body(**fields: Any) -> bytes:
    return json.dumps({"to": [NUMBER], "message": "x", **fields}).encode()


def test_a_body_over_the_gateway_limit_is_413(local_stack: LocalStack) -> None:
    body = b'{"to": ["+254712345678"], "message": "' + b"x" * GATEWAY_LIMIT_BYTES + b'"}'
    assert_client_error(post_raw(local_stack, "/send", body), 413)


def test_too_many_recipients_and_too_long_a_text_are_422(local_stack: LocalStack) -> None:
    numbers = [f"+2547{index:08d}" for index in range(10_001)]
    detail = assert_client_error(
        post_raw(local_stack, "/send", json.dumps({"to": numbers, "message": "x"}).encode()), 422
    )
    assert detail[0]["loc"] == ["body", "to"]
    assert_client_error(post_raw(local_stack, "/send", send_body(message="x" * 1_601)), 422)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-arrays"),
        pytest.param(b'{"to": ' + b"[" * 5_000 + b"]" * 5_000 + b', "message": "x"}', id="nested-in-a-field"),
        pytest.param(b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, id="nested-objects"),
    ],
)
def test_deeply_nested_json_is_422(local_stack: LocalStack, body: bytes) -> None:
    assert_client_error(post_raw(local_stack, "/send", body), 422)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # Not text at all: 400, as the README's error table says (API Gateway passes such a body on
        # with each bad byte replaced by U+FFFD; /send must never take those for the message).
        pytest.param(b'{"to": ["+254712345678"], "message": "\xff\xfe\xfd"}', 400, id="invalid-utf8-in-a-string"),
        pytest.param(b"\xc3\x28\xa0\xa1", 400, id="invalid-utf8-everywhere"),
        # Text, but not JSON we take: validation (422).
        pytest.param(b'{"to": ["+254712345678"], "message": "\\ud800"}', 422, id="lone-surrogate-escape"),
        pytest.param(b"\xef\xbb\xbf" + send_body(), 422, id="utf8-bom"),
    ],
)
def test_bytes_that_are_not_utf8_text_are_4xx(local_stack: LocalStack, body: bytes, status: int) -> None:
    assert_client_error(post_raw(local_stack, "/send", body), status)


def test_an_escaped_replacement_character_is_still_a_message(local_stack: LocalStack) -> None:
    # JSON's \\ufffd is the character itself, not a sign of bytes lost on the way
    response = post_raw(local_stack, "/send", send_body(message="\ufffd"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender_id", "LIS\x00OO"),
        ("sender_id", "LIS\r\nOO"),
        ("sender_id", "LISOLOO\r\nX-Injected: 1"),
        ("sender_id", "\x1b[31mRED"),
        ("sender_id", "LIS\u202eOO"),
        ("reference", "order-1\r\nX-Injected: 1"),
        ("reference", "order\x00"),
        ("reference", "order\t1"),
        ("reference", "\u202eredro"),
        ("reference", "x" * 65),
        ("reference", ""),
    ],
)
def test_control_characters_and_header_injection_in_sender_id_and_reference_are_422(
    local_stack: LocalStack, field: str, value: str
) -> None:
    detail = assert_client_error(post_raw(local_stack, "/send", send_body(**{field: value})), 422)
    assert detail[0]["loc"] == ["body", field]
    if value:
        assert value not in json.dumps(detail)  # the reply never echoes the bad value


@pytest.mark.parametrize(
    "key",
    ["key with spaces", "k\x01y", "ключ".encode().decode("latin-1"), "x" * 256],
)
def test_an_unusable_idempotency_key_is_422(local_stack: LocalStack, key: str) -> None:
    response = polite.post(
        f"{local_stack.base_url}/send",
        data=send_body(),
        headers={"app-key": local_stack.app_key, "Content-Type": "application/json", "Idempotency-Key": key},
        timeout=10,
    )
    assert_client_error(response, 422)


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"1",
        b'"to"',
        b"[]",
        b"{}",
        b'{"to": [null], "message": "x"}',
        b'{"to": [["+254712345678"]], "message": "x"}',
    ],
)
def test_json_that_is_not_a_send_request_is_422(local_stack: LocalStack, body: bytes) -> None:
    assert_client_error(post_raw(local_stack, "/send", body), 422)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "multipart/form-data",  # no boundary: Powertools' parser raised ValueError, once a 500
        "MULTIPART/FORM-DATA; charset=utf-8",
        "application/x-www-form-urlencoded",
    ],
)
def test_a_body_that_is_not_json_is_422(local_stack: LocalStack, content_type: str) -> None:
    """Merchant routes take JSON. Any other body is 422 in the validation shape (not 415): form
    and multipart bodies are parsed by Powertools and then fail the fields anyway, so all are alike."""
    detail = assert_client_error(post_raw(local_stack, "/send", send_body(), content_type), 422)
    assert isinstance(detail, list) and detail[0]["loc"][0] == "body", detail


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param({"scheduled_dates": ["9999-12-31T23:59:59Z"]}, id="last-representable-date"),
        pytest.param({"scheduled_dates": ["9999-12-01T00:00:00-12:00"]}, id="far-date-with-offset"),
        pytest.param({"recurring_schedule": {"cron": "0 9 31 2 *"}}, id="cron-that-never-fires"),
        pytest.param({"recurring_schedule": {"cron": "0 9 30 2 *", "timezone": "Africa/Nairobi"}}, id="30-february"),
        pytest.param({"recurring_schedule": {"cron": "0 9 * * MON", "max_occurrences": 1e400}}, id="infinite-count"),
    ],
)
def test_schedules_at_the_edge_of_what_can_be_represented_are_422(
    local_stack: LocalStack, schedule: dict[str, Any]
) -> None:
    assert_client_error(post_raw(local_stack, "/send", send_body(**schedule)), 422)


@pytest.mark.parametrize(
    "query",
    [
        "recipients_cursor=%C2%B2",
        "recipients_cursor=-1",
        "recipients_cursor=1e3",
        "recipients_limit=99999999999999999999999",
    ],
)
def test_odd_status_queries_are_4xx(local_stack: LocalStack, query: str) -> None:
    sent = polite.post(
        f"{local_stack.base_url}/send", data=send_body(), headers={"app-key": local_stack.app_key}, timeout=10
    ).json()["data"]["message_id"]
    for message_id in (sent, "0" * 24):
        response = polite.get(
            f"{local_stack.base_url}/status/{message_id}?{query}", headers={"app-key": local_stack.app_key}, timeout=10
        )
        assert_client_error(response, 404, 422)


@pytest.mark.parametrize(
    "body",
    [
        b'{"webhook_url": 5}',
        b'{"webhook_url": "https://' + b"a" * 3_000 + b'.example/"}',
        b'{"webhook_url": "https://hooks.example.com/\\r\\nX-Injected: 1"}',
        b'{"webhook_url": "https://[::ffff:10.0.0.1]/"}',
        b'{"webhook_url": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b"\xff",  # 400: not text
    ],
)
def test_bad_webhook_settings_are_4xx(local_stack: LocalStack, body: bytes) -> None:
    response = polite.put(
        f"{local_stack.base_url}/webhook",
        data=body,
        headers={"app-key": local_stack.second_app_key, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_client_error(response, 400 if body == b"\xff" else 422)


@pytest.mark.parametrize(
    "path",
    [
        "/status/%00",
        "/status/..%2F..%2Fwebhook",
        "/status/" + "a" * 5_000,
        "/schedules/sch_%0d%0aX",
        "/schedules/..%2F",
    ],
)
def test_odd_paths_are_404(local_stack: LocalStack, path: str) -> None:
    method = "DELETE" if path.startswith("/schedules") else "GET"
    response = polite.request(
        method, f"{local_stack.base_url}{path}", headers={"app-key": local_stack.app_key}, timeout=10
    )
    assert_client_error(response, 404)
