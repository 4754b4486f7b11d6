"""GET /messages' pure rules: cursors, filters, the months a range walks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.entities import MessageRecord
from lisoloo.errors import InvalidCursorError
from lisoloo.search_rules import MessageQuery, decode_cursor, encode_cursor
from lisoloo.status import SmsStatus
from lisoloo.storage import keys
from lisoloo.storage.message_index import months_between
from lisoloo.storage.table import timestamp

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))
message_ids = st.text(alphabet="0123456789abcdef", min_size=24, max_size=24)


@given(moment=moments, message_id=message_ids)
def test_a_cursor_names_back_exactly_its_index_position(moment: datetime, message_id: str) -> None:
    position = keys.find_sk(timestamp(moment), message_id)
    cursor = encode_cursor(position)
    assert cursor.isascii() and "=" not in cursor
    assert decode_cursor(cursor, keys.is_find_sk) == position


@given(first=moments, second=moments, a=message_ids, b=message_ids)
def test_positions_sort_as_creation_then_id(first: datetime, second: datetime, a: str, b: str) -> None:
    # The index sorts its text; a page's order and every cursor rely on that being time order
    left, right = keys.find_sk(timestamp(first), a), keys.find_sk(timestamp(second), b)
    assert (left < right) == ((timestamp(first), a) < (timestamp(second), b))


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90LW91cnM", "x" * 200, "é", encode_cursor("2026-12-07T10:00:00Z#ab")])
def test_anything_but_a_cursor_we_gave_out_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor, keys.is_find_sk)


def message(**fields: object) -> MessageRecord:
    values: dict[str, object] = {
        "org_id": "org_0123456789abcdef",
        "message_id": "6751f3a09c2e4b7d8a1f0c3e",
        "text": "hi",
        "sender_id": "SHOP",
        "reference": "order-1",
        "encoding": "GSM-7",
        "segments": 1,
        "total": 2,
        "delivered": 1,
        "failed": 1,
        "started": True,
        "handed_off_chunks": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return MessageRecord(**{**values, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "accepted"),
    [
        (MessageQuery(), True),
        (MessageQuery(status=SmsStatus.DELIVERED), True),  # one of two delivered: delivered
        (MessageQuery(status=SmsStatus.FAILED), False),
        (MessageQuery(reference="order-1"), True),
        (MessageQuery(reference="order-2"), False),
        (MessageQuery(sender_id="SHOP"), True),
        (MessageQuery(sender_id="BANK"), False),
        (MessageQuery(created_after=NOW), True),  # inclusive
        (MessageQuery(created_after=NOW + timedelta(milliseconds=1)), False),
        (MessageQuery(created_before=NOW), False),  # exclusive
        (MessageQuery(created_before=NOW + timedelta(milliseconds=1)), True),
        (MessageQuery(status=SmsStatus.DELIVERED, sender_id="BANK"), False),
    ],
)
def test_filters_table(query: MessageQuery, accepted: bool) -> None:
    assert query.matches(message()) is accepted


def test_the_months_a_range_walks_newest_first_across_a_year_end() -> None:
    assert months_between(datetime(2025, 11, 30, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)) == [
        "2026-02",
        "2026-01",
        "2025-12",
        "2025-11",
    ]
    assert months_between(NOW, NOW - timedelta(days=40)) == []
