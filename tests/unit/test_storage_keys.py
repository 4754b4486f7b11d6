"""Every key shape of the table: built in ``storage.keys`` only, and read back from the same."""

from __future__ import annotations

import pytest

from lisoloo.storage import keys

ORG = "org_0123456789abcdef"
MESSAGE = "6a1c0e5f0123456789abcdef"


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (keys.org_pk(ORG), "ORG#org_0123456789abcdef"),
        (keys.message_pk(ORG, MESSAGE), "ORG#org_0123456789abcdef#MSG#6a1c0e5f0123456789abcdef"),
        (keys.schedule_pk(ORG, "sch_0123456789abcdef"), "ORG#org_0123456789abcdef#SCHED#sch_0123456789abcdef"),
        (keys.chunk_sk(0), "P#00000"),
        (keys.chunk_sk(99), "P#00099"),
        (keys.chunk_rows_high(3), "P#00003#~"),
        (keys.recipient_sk(0), "P#00000#R#00000"),
        (keys.recipient_sk(99), "P#00000#R#00099"),
        (keys.recipient_sk(100), "P#00001#R#00100"),
        (keys.recipient_sk(9_999), "P#00099#R#09999"),
        (keys.app_key_pk("ab" * 32), "KEY#" + "ab" * 32),
        (keys.app_key_listing_sk("key_0123456789ab"), "APPKEY#key_0123456789ab"),
        (keys.carrier_pk("kannel"), "CARRIER#kannel"),
        (keys.carrier_ref_pk("kannel", "abc-1"), "CARRIER#kannel#abc-1"),
        (keys.parked_sk("f" * 24), "PARKED#" + "f" * 24),
        (keys.due_shard_key(7), "DUE#7"),
    ],
)
def test_key_shapes(built: str, expected: str) -> None:
    assert built == expected


def test_rows_sort_under_their_chunk_and_meta_before_every_chunk() -> None:
    sort_keys = [keys.recipient_sk(150), keys.chunk_sk(1), keys.META, keys.recipient_sk(99), keys.chunk_sk(0)]
    assert sorted(sort_keys) == [
        keys.META,
        keys.chunk_sk(0),
        keys.recipient_sk(99),
        keys.chunk_sk(1),
        keys.recipient_sk(150),
    ]
    # A chunk's Query range holds the chunk and its rows, and nothing of the next chunk.
    assert keys.chunk_sk(1) <= keys.recipient_sk(199) <= keys.chunk_rows_high(1) < keys.chunk_sk(2)
    assert keys.chunk_sk(0) > keys.CHUNKS_LOW and keys.recipient_sk(9_999) < keys.CHUNKS_HIGH


@pytest.mark.parametrize("index", [0, 7, 99, 100, 4_321, 9_999])
def test_recipient_sort_keys_read_back(index: int) -> None:
    sort_key = keys.recipient_sk(index)
    assert keys.is_recipient_sk(sort_key)
    assert keys.index_of_recipient_sk(sort_key) == index
    assert not keys.is_recipient_sk(keys.chunk_sk(index // 100))
    assert keys.chunk_of_sk(keys.chunk_sk(index // 100)) == index // 100


@pytest.mark.parametrize(
    ("pk", "expected"),
    [
        (keys.message_pk(ORG, MESSAGE), (ORG, MESSAGE)),
        (keys.schedule_pk(ORG, "sch_0123456789abcdef"), ("", "")),
        (keys.carrier_ref_pk("kannel", "ORG#x#MSG#y"), ("", "")),
        (keys.org_pk(ORG), ("", "")),
    ],
)
def test_only_message_keys_name_a_message(pk: str, expected: tuple[str, str]) -> None:
    assert keys.message_of_pk(pk) == expected


def test_due_shards_are_stable_and_spread() -> None:
    pks = [keys.message_pk(ORG, f"{number:024x}") for number in range(1_000)]
    shards = [keys.due_shard(pk) for pk in pks]
    assert shards == [keys.due_shard(pk) for pk in pks]  # the same item always lands in the same one
    assert set(shards) == {keys.due_shard_key(shard) for shard in range(keys.DUE_SHARDS)}
