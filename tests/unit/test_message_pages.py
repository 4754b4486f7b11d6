"""GET /messages' paging as a property: over any messages, any page size and any filters, with
new messages arriving between pages, every message that matched when the walk began is listed
exactly once, newest first, and none that arrived later slips in behind the cursor."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lisoloo.entities import MessageRecord
from lisoloo.search_rules import MessageQuery
from lisoloo.searching import search_messages
from lisoloo.status import SmsStatus
from lisoloo.storage import keys
from lisoloo.storage.table import timestamp

ORG = "org_0123456789abcdef"
START = datetime(2026, 11, 20, tzinfo=UTC)
NOW = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass
class FakeIndex:
    """The finding index's contract: sort keys in ``[low, high]``, newest first."""

    messages: dict[str, MessageRecord] = field(default_factory=dict)

    def _positions(self, low: str, high: str, wanted: Iterable[MessageRecord]) -> Iterator[str]:
        positions = sorted((keys.find_sk(timestamp(m.created_at), m.message_id) for m in wanted), reverse=True)
        return iter([position for position in positions if low <= position <= high])

    def listed(self, org_id: str, months: list[str], low: str, high: str, page_size: int) -> Iterator[str]:
        return self._positions(
            low, high, [m for m in self.messages.values() if m.created_at.strftime("%Y-%m") in months]
        )

    def sent_to(self, org_id: str, number: str, low: str, high: str, page_size: int) -> Iterator[str]:
        return self._positions(low, high, [m for m in self.messages.values() if m.text == number])

    def with_reference(self, org_id: str, reference: str, low: str, high: str, page_size: int) -> Iterator[str]:
        return self._positions(low, high, [m for m in self.messages.values() if m.reference == reference])


@dataclass
class FakeMessages:
    index: FakeIndex

    def get_many(self, org_id: str, message_ids: Iterable[str]) -> dict[str, MessageRecord]:
        return {i: self.index.messages[i] for i in message_ids if i in self.index.messages}


@dataclass
class FakeRepository:
    message_index: FakeIndex = field(default_factory=FakeIndex)

    @property
    def messages(self) -> FakeMessages:
        return FakeMessages(self.message_index)


def message(number: int, seconds: int, delivered: bool, reference: str | None, to: str) -> MessageRecord:
    created = START + timedelta(seconds=seconds)
    return MessageRecord(
        org_id=ORG,
        message_id=f"{number:024x}",
        text=to,  # the fake index reads the number from here
        sender_id=None,
        reference=reference,
        encoding="GSM-7",
        segments=1,
        total=1,
        delivered=int(delivered),
        failed=0,
        started=True,
        handed_off_chunks=1,
        created_at=created,
        updated_at=created,
    )


messages = st.lists(
    st.tuples(
        st.integers(0, 30 * 24 * 3600),  # many share a second, some share a millisecond
        st.booleans(),
        st.sampled_from([None, "a", "b"]),
        st.sampled_from(["+254700000001", "+254700000002"]),
    ),
    max_size=40,
)
queries = st.builds(
    MessageQuery,
    status=st.sampled_from([None, SmsStatus.DELIVERED, SmsStatus.SENT]),
    reference=st.sampled_from([None, "a"]),
    recipient=st.sampled_from([None, "+254700000001"]),
    limit=st.integers(1, 7),
)


@settings(max_examples=150, deadline=None)
@given(existing=messages, arriving=messages, query=queries)
def test_every_matching_message_once_newest_first_while_new_ones_arrive(
    existing: list[tuple[int, bool, str | None, str]],
    arriving: list[tuple[int, bool, str | None, str]],
    query: MessageQuery,
) -> None:
    repository = FakeRepository()
    for number, fields in enumerate(existing):
        made = message(number, *fields)
        repository.message_index.messages[made.message_id] = made
    expected = sorted(
        (m for m in repository.message_index.messages.values() if _matches(query, m)),
        key=lambda m: (m.created_at, m.message_id),
        reverse=True,
    )
    later = iter(arriving)
    seen: list[str] = []
    cursor: str | None = None
    newest = max((m.created_at for m in repository.message_index.messages.values()), default=START)
    for _ in range(1_000):
        page = search_messages(
            repository, ORG, query, cursor, now=NOW, oldest=START - timedelta(days=1), currency="KES"
        )  # type: ignore[arg-type]
        seen.extend(item.message_id for item in page.messages)
        cursor = page.cursor
        if cursor is None:
            break
        # A message arrives: created after everything there was when the walk began
        nxt = next(later, None)
        if nxt is not None:
            seconds, delivered, reference, to = nxt
            made = message(10_000 + len(seen) * 100 + seconds % 100, 0, delivered, reference, to)
            made = replace(made, created_at=newest + timedelta(seconds=1 + seconds % 5))
            repository.message_index.messages[made.message_id] = made
    assert seen == [m.message_id for m in expected]


def _matches(query: MessageQuery, message: MessageRecord) -> bool:
    return query.matches(message) and (query.recipient is None or message.text == query.recipient)
