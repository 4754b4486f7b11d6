"""A message's numbers as stored at send (and a schedule's, until each release): chunk items
of RECIPIENTS_PER_CHUNK numbers, with a personal text's variables beside them (DESIGN §4, §12).
A recipient row exists only once dispatch claims it (``recipients``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from lisoloo.entities import RECIPIENTS_PER_CHUNK, Audience
from lisoloo.storage import keys
from lisoloo.storage.table import Item, epoch_seconds
from lisoloo.templating import vars_json

# A chunk's numbers are E.164 (never spaced), kept as one string joined by this.
CHUNK_SEPARATOR = " "


def chunk_items(pk: str, recipients: Sequence[str] | Audience, expires_at: datetime) -> Iterator[dict[str, Any]]:
    """A partition's numbers (a message's, or a schedule's until release), RECIPIENTS_PER_CHUNK
    an item; with a personal text, each number's variables beside them."""
    audience = recipients if isinstance(recipients, Audience) else Audience(recipients)
    numbers = audience.numbers
    for chunk, start in enumerate(range(0, len(numbers), RECIPIENTS_PER_CHUNK)):
        end = start + RECIPIENTS_PER_CHUNK
        item = {
            "PK": pk,
            "SK": keys.chunk_sk(chunk),
            # One string, not a list: a list of 100 strings costs botocore validation and
            # serialization per element, which made POST /send of 10,000 numbers slow.
            "numbers": CHUNK_SEPARATOR.join(numbers[start:end]),
            "expires_at": epoch_seconds(expires_at),
        }
        if audience.variables is not None:
            # One JSON string for the same reason. Each recipient's is at most
            # MAX_VARS_JSON_BYTES (3,000): 100 of them stay under the 400 KB item limit.
            item["vars"] = "[" + ",".join(vars_json(values) for values in audience.variables[start:end]) + "]"
        yield item


def chunk_variables(item: Item) -> list[dict[str, str]] | None:
    """A chunk item's per-recipient variables, in number order; None for one text for all."""
    value = item.get("vars")
    if value is None:
        return None
    loaded: list[dict[str, str]] = json.loads(value["S"])
    return loaded


def chunk_audience(items: Iterable[Item]) -> Audience:
    """The numbers and variables of a partition's chunk items (read in key order)."""
    numbers: list[str] = []
    variables: list[Mapping[str, str]] = []
    personal = False
    for item in items:
        chunk = chunk_numbers(item)
        numbers += chunk
        values = chunk_variables(item)
        personal = personal or values is not None
        variables += values if values is not None else [{}] * len(chunk)
    return Audience(numbers, variables if personal else None)


def chunk_numbers(item: Item) -> list[str]:
    """A chunk item's numbers: one space-separated string (numbers are E.164, never spaced);
    chunks written before that are lists."""
    value = item["numbers"]
    return value["S"].split(CHUNK_SEPARATOR) if "S" in value else [entry["S"] for entry in value["L"]]
