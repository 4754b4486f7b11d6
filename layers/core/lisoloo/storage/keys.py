"""Every key of the table, and nothing else: the only code that builds (or reads) one.

Every merchant item's partition key starts with ``ORG#{org}``, so a lookup can only find
the caller's own rows. A message is one partition:

    META                      the message: totals, delivered/failed counters, progress flags
    P#{chunk:05d}             up to RECIPIENTS_PER_CHUNK numbers, written at send
    P#{chunk:05d}#R#{i:05d}   recipient i, created when dispatch claims it

Rows sort under their chunk, so one Query reads a page of numbers together with their
states. A schedule's partition holds its numbers the same way until an occurrence is released.
"""

from __future__ import annotations

import zlib

from lisoloo.entities import RECIPIENTS_PER_CHUNK

META = "META"
CARRIER_REF_SK = "REF"
PARKED_SK_PREFIX = "PARKED#"
# A recipient row's sort key holds this between its chunk and its index.
RECIPIENT_MARK = "#R#"
# Sort keys that bound every chunk and row of a partition (META sorts before them).
CHUNKS_LOW, CHUNKS_HIGH = "P#", "P#~"
DUE_SHARDS = 16


def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def message_pk(org_id: str, message_id: str) -> str:
    return f"ORG#{org_id}#MSG#{message_id}"


def schedule_pk(org_id: str, schedule_id: str) -> str:
    return f"ORG#{org_id}#SCHED#{schedule_id}"


def chunk_sk(chunk: int) -> str:
    return f"P#{chunk:05d}"


def chunk_rows_high(chunk: int) -> str:
    """The upper bound of a chunk and its recipient rows in a Query."""
    return f"{chunk_sk(chunk)}#~"


def recipient_sk(index: int) -> str:
    return f"{chunk_sk(index // RECIPIENTS_PER_CHUNK)}{RECIPIENT_MARK}{index:05d}"


def is_recipient_sk(sort_key: str) -> bool:
    return RECIPIENT_MARK in sort_key


def index_of_recipient_sk(sort_key: str) -> int:
    return int(sort_key.rsplit("#", 1)[1])


def chunk_of_sk(sort_key: str) -> int:
    """The chunk number of a chunk item's sort key (``P#00003`` → 3)."""
    return int(sort_key[2:])


def message_of_pk(pk: str) -> tuple[str, str]:
    """(org_id, message_id) of a message partition key; ("", "") for any other key."""
    parts = pk.split("#")
    if len(parts) == 4 and parts[0] == "ORG" and parts[2] == "MSG":
        return parts[1], parts[3]
    return "", ""


def app_key_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


def app_key_listing_sk(key_id: str) -> str:
    # Under the organization's own item (ORG#{org} / META), so its keys are one Query away.
    return f"APPKEY#{key_id}"


def carrier_pk(carrier: str) -> str:
    return f"CARRIER#{carrier}"


def carrier_ref_pk(carrier: str, carrier_ref: str) -> str:
    return f"CARRIER#{carrier}#{carrier_ref}"


def parked_sk(fingerprint: str) -> str:
    return PARKED_SK_PREFIX + fingerprint


def due_shard(pk: str) -> str:
    """The due-index partition an item lands in: spread over a few, the same item always in
    the same one."""
    return due_shard_key(zlib.crc32(pk.encode()) % DUE_SHARDS)


def due_shard_key(shard: int) -> str:
    return f"DUE#{shard}"


# --- Routing (DESIGN §8): carriers as data, routes, pacing -----------------------------------
# Operator data, read whole and cached by every dispatcher: one small partition each, so a
# listing is one Query. Organization routes sort under ``ORG#{org}#`` inside the routes
# partition; they hold no merchant data, only which carriers serve the organization.

CARRIERS_PK = "CARRIERS"
ROUTES_PK = "ROUTES"


def carrier_config_sk(carrier: str) -> str:
    return f"CARRIER#{carrier}"


def carrier_of_config_sk(sort_key: str) -> str:
    return sort_key.removeprefix("CARRIER#")


def route_sk(org_id: str | None, match: str) -> str:
    return f"ORG#{org_id}#MATCH#{match}" if org_id else f"GLOBAL#MATCH#{match}"


def pace_pk(carrier: str, second: int) -> str:
    """A carrier's submissions in one epoch second, across every dispatcher (its own partition:
    a new one each second)."""
    return f"PACE#{carrier}#{second}"
