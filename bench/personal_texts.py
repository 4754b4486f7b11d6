"""Personal texts (DESIGN §12): what ``{{name}}`` values cost at send and at dispatch, per
recipient, against the same send with one text for all; and the size of the chunk item that
holds 100 recipients' largest allowed values."""

from __future__ import annotations

from typing import Any

from bench.scenarios import numbers, tally_figures
from bench.stack import InProcessStack

PERSONAL_RECIPIENTS = 1_000
TEMPLATE = "Hi {{name}}, your code is {{code}}"


def _largest_values(seed: int) -> dict[str, str]:
    """Ten values, their compact JSON within a few bytes of the per-recipient budget (two-byte
    characters: 160 ASCII characters a value would stop at 1.7 KB)."""
    from lisoloo.models import MAX_VARS, MAX_VARS_JSON_BYTES
    from lisoloo.templating import vars_json

    values = {f"v{i}": "" for i in range(MAX_VARS)}
    room = (MAX_VARS_JSON_BYTES - len(vars_json(values).encode())) // MAX_VARS
    return {name: f"{seed:04d}" + "é" * ((room - 4) // 2) for name in values}


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item in the wire form: names plus string and number values, in bytes."""
    return sum(len(name.encode()) + len(next(iter(value.values())).encode()) for name, value in item.items())


def personal_texts(stack: InProcessStack, count: int = PERSONAL_RECIPIENTS) -> dict[str, Any]:
    def run(to: list[Any], message: str) -> dict[str, Any]:
        merchant = stack.new_merchant(webhook=False)
        stack.authorize(merchant)
        stack.carrier.take()  # what earlier scenarios left with the carrier is not this send's
        with stack.meter.tally() as send_tally:
            code, body = stack.api("send", "send-single", merchant, body={"to": to, "message": message})
        if code != 200:
            raise RuntimeError(f"send answered {code}: {str(body)[:500]}")
        with stack.meter.tally() as dispatch_tally:
            stack.dispatch_all()
        submitted = stack.carrier.take()
        send, dispatch = tally_figures(send_tally), tally_figures(dispatch_tally)
        return {
            "submitted": len(submitted),
            "send_requests_per_recipient": send["dynamodb_requests"] / count,
            "send_write_units_per_recipient": send["write_units"] / count,
            "dispatch_requests_per_recipient": dispatch["dynamodb_requests"] / count,
            "dispatch_write_units_per_recipient": dispatch["write_units"] / count,
            "dispatch_read_units_per_recipient": dispatch["read_units"] / count,
            "segments_total": body["data"]["segments_total"],
            "message_id": body["data"]["message_id"],
            "org_id": merchant.org_id,
        }

    every = numbers(count)
    plain = run(every, "Hi there, your code is 4821")
    personal = run(
        [
            {"to": number, "vars": {"name": f"Customer {index}", "code": f"{index:04d}"}}
            for index, number in enumerate(every)
        ],
        TEMPLATE,
    )
    largest = run(
        [{"to": number, "vars": _largest_values(index)} for index, number in enumerate(every[:100])],
        "".join(f"{{{{v{i}}}}}" for i in range(10)),
    )
    from lisoloo.storage import keys

    item = stack.aws("dynamodb").get_item(
        TableName=stack.table_name,
        Key={
            "PK": {"S": keys.message_pk(largest["org_id"], largest["message_id"])},
            "SK": {"S": keys.chunk_sk(0)},
        },
    )["Item"]
    size = _item_size(item)
    return {
        "recipients": count,
        "plain": plain,
        "personal": personal,
        "largest_chunk_item_bytes": size,
        "correct": plain["submitted"] == personal["submitted"] == count and size < 400 * 1024,
    }
