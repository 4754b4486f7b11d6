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

import re
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


# --- two-way: suppressions, inbound numbers, inbound messages (DESIGN §9) -----------------------
#
# An organization's suppression list is one partition, a number per sort key: dispatch reads a
# chunk's numbers in one BatchGetItem, and ``GET /suppressions`` pages it in number order.


def suppressions_pk(org_id: str) -> str:
    return f"ORG#{org_id}#SUPPRESSIONS"


def suppression_sk(number: str) -> str:
    return f"N#{number}"


def number_of_suppression_sk(sort_key: str) -> str:
    return sort_key.removeprefix("N#")


# Inbound numbers are operator data (not an organization's): a dedicated number is one item
# (``META``), a shared short code one item per organization's keyword (``KW#{keyword}``), so a
# reply's receiver is resolved by one Query; each assignment is listed under its organization.
INBOUND_DEDICATED_SK = "META"


def inbound_number_pk(number: str) -> str:
    return f"INBOUND#{number}"


def inbound_keyword_sk(keyword: str) -> str:
    return f"KW#{keyword}"


def inbound_listing_sk(number: str, keyword: str | None) -> str:
    # Under the organization's own item (ORG#{org}), next to its app-keys.
    return f"INBOUNDNUM#{number}#{keyword or ''}"


def inbound_pk(org_id: str) -> str:
    """An organization's inbound messages: one partition, sort key the time-ordered inbound id,
    so ``GET /inbound`` reads it newest first."""
    return f"ORG#{org_id}#INBOUND"


def inbound_seen_pk(carrier: str, fingerprint: str) -> str:
    """One carrier delivery of one inbound message: a second delivery finds it and stores nothing."""
    return f"CARRIER#{carrier}#MO#{fingerprint}"


# --- Finding messages (DESIGN §11) ----------------------------------------------------------
# One sparse KEYS_ONLY index, ``find``, overloaded: a message item lists the message in its
# organization's month (``LIST#``), a recipient row lists it under the number (``NUM#``). A second,
# ``reference``, holds only messages sent with a reference. Every key attribute is written once,
# when its item is created, so later updates (counters, hand-offs, receipts) never touch an index.
# Sort keys are ``{created_at}#{message_id}``: newest first is a descending Query, and a cursor is
# the last sort key a page looked at.
FIND_INDEX = "find"
REFERENCE_INDEX = "reference"
# created_at as ``timestamp`` writes it: fixed width, so the text sorts as the time does.
_FIND_SK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[0-9a-f]{24}")


def message_list_pk(org_id: str, month: str) -> str:
    """The organization's messages created in ``month`` (``2026-12``)."""
    return f"LIST#{org_id}#{month}"


def number_pk(org_id: str, number: str) -> str:
    return f"NUM#{org_id}#{number}"


def reference_pk(org_id: str, reference: str) -> str:
    return f"REF#{org_id}#{reference}"


def find_sk(created_at: str, message_id: str) -> str:
    return f"{created_at}#{message_id}"


def is_find_sk(value: str) -> bool:
    return bool(_FIND_SK.fullmatch(value))


def message_of_find_sk(value: str) -> str:
    return value.rsplit("#", 1)[1]


# --- The event log and webhook attempts (DESIGN §11) -----------------------------------------
# An organization's events sit in one partition in the order they were logged (``EVT#`` and a
# zero-padded position, so the text sorts as the number); a marker per event id keeps an event
# from being logged twice and finds it again for a redelivery. Attempts of webhook deliveries sit
# in a partition of their own, newest first by when they were made.


def events_pk(org_id: str) -> str:
    return f"ORG#{org_id}#EVENTS"


def event_position_sk(position: int) -> str:
    return f"EVT#{position:012d}"


def position_of_event_sk(sort_key: str) -> int:
    return int(sort_key.removeprefix("EVT#"))


def event_marker_pk(org_id: str, event_id: str) -> str:
    return f"ORG#{org_id}#EVENT#{event_id}"


def message_events_pk(org_id: str, message_id: str) -> str:
    """A message's events in the ``find`` index: their markers, sorted by log position."""
    return f"MSGEVT#{org_id}#{message_id}"


def deliveries_pk(org_id: str) -> str:
    return f"ORG#{org_id}#DELIVERIES"


def delivery_attempt_sk(attempted_at: str, event_id: str, attempt: int) -> str:
    return f"{attempted_at}#{event_id}#{attempt:03d}"


_DELIVERY_ATTEMPT_SK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#evt_[0-9a-z_]{1,60}#\d{3}")


def is_delivery_attempt_sk(value: str) -> bool:
    return bool(_DELIVERY_ATTEMPT_SK.fullmatch(value))


# --- Delivery analytics (DESIGN §11) ---------------------------------------------------------
# One partition per organization; a group's counters sit at ``{dimension}#{day}#{value}``, so a
# range of days of one dimension is one Query.


def analytics_pk(org_id: str) -> str:
    return f"ORG#{org_id}#STATS"


def analytics_sk(dimension: str, day: str, value: str) -> str:
    return f"{dimension}#{day}#{value}"


def analytics_value_of_sk(sort_key: str) -> str:
    return sort_key.split("#", 2)[2]


# --- Exports (DESIGN §11) ------------------------------------------------------------------


def export_pk(org_id: str, export_id: str) -> str:
    return f"ORG#{org_id}#EXPORT#{export_id}"


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


# --- Money (DESIGN §10): prices, accounts and their ledgers ----------------------------------
# Prices are operator data, read whole and cached like routes: one small partition. An
# organization's account item and its ledger entries share one partition, so an entry and the
# balance change it makes are one transaction, and the ledger reads in order with one Query.

PRICES_PK = "PRICES"


def price_sk(carrier: str | None, match: str) -> str:
    return f"CARRIER#{carrier}#MATCH#{match}" if carrier else f"ANY#MATCH#{match}"


def account_pk(org_id: str) -> str:
    return f"ORG#{org_id}#ACCOUNT"


def org_of_account_pk(pk: str) -> str | None:
    """The organization of an account's partition key; None for any other key."""
    if pk.startswith("ORG#") and pk.endswith("#ACCOUNT"):
        org_id = pk[len("ORG#") : -len("#ACCOUNT")]
        return org_id if org_id and "#" not in org_id else None
    return None


ACCOUNT_SK = "META"
LEDGER_PREFIX = "LEDGER#"


def ledger_sk(entry_id: str) -> str:
    return f"{LEDGER_PREFIX}{entry_id}"


# GET /balance/ledger lists entries newest first: each entry is also in the sparse ``find`` index
# under ``LEDGER#{org}``, sorted by ``{created_at}#{entry_id}`` (an entry's own sort key cannot
# hold its time: the key is the change's idempotency id, the same whenever it is retried).
_LEDGER_FIND_SK = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#(top_up|adjustment|reserve|charge|release|credit_limit)#[ -~]{1,100}"
)


def ledger_list_pk(org_id: str) -> str:
    return f"LEDGER#{org_id}"


def ledger_find_sk(created_at: str, entry_id: str) -> str:
    return f"{created_at}#{entry_id}"


def is_ledger_find_sk(value: str) -> bool:
    return bool(_LEDGER_FIND_SK.fullmatch(value))


def entry_of_ledger_find_sk(value: str) -> str:
    """The entry id (``{kind}#{id}``) of a ledger entry's ``find`` sort key."""
    return value.split("#", 1)[1]


# --- Route quality (DESIGN §8) ---------------------------------------------------------------
# Per carrier, across organizations (operator data, no merchant's): one partition per carrier,
# a bucket per time slot and country, so a window of one carrier is one Query.


def route_quality_pk(carrier: str) -> str:
    return f"ROUTEQ#{carrier}"


def route_quality_sk(bucket: str, country: str) -> str:
    return f"B#{bucket}#{country}"


def route_quality_of_sk(sort_key: str) -> tuple[str, str]:
    """(bucket, country) of a route-quality sort key."""
    bucket, _, country = sort_key.removeprefix("B#").rpartition("#")
    return bucket, country


# --- Opt-out links (DESIGN §12) -------------------------------------------------------------
# One item per link, keyed by its token alone: the public page's request carries nothing else
# (no app-key, no organization), as a carrier's receipt carries only its own id. Not scoped
# under ``ORG#``: the item names its organization, and the 72-bit token is the capability.

OPT_OUT_SK = "LINK"


def opt_out_pk(token: str) -> str:
    return f"OPTOUT#{token}"
