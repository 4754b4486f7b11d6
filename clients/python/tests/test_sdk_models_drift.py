"""The SDK against the API's published contract (the repository's openapi.json, which
``make openapi`` regenerates from the functions): every model has its schema's fields,
required and nullable alike; every call is a documented path, method and parameter; a send
takes every field POST /send does. A change to the API that the SDK has not followed fails here."""

from __future__ import annotations

import json
import typing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lisoloo_client import _calls, models
from lisoloo_client._calls import Call, Pager, PersonalRecipient, SendOptions

OPENAPI = json.loads((Path(__file__).resolve().parents[3] / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = OPENAPI["components"]["schemas"]
PREFIX = "/api/v1/lisoloo/sms-api/"

# The SDK's model for each schema; the SDK names them as a merchant reads them.
MODEL_SCHEMAS: dict[type[models.Model], str] = {
    models.Recurrence: "RecurringSchedule",
    models.SendCost: "SendCost",
    models.Occurrence: "Occurrence",
    models.SendAccepted: "SendAccepted",
    models.CountryQuote: "CountryQuote",
    models.SendQuote: "SendQuote",
    models.MessageCost: "StatusCost",
    models.RecipientState: "RecipientState",
    models.MessageStatus: "MessageStatus",
    models.MessageSummary: "MessageSummary",
    models.MessagesPage: "MessagesPage",
    models.Event: "LoggedEventView",
    models.EventsPage: "EventsPage",
    models.EventRedelivery: "EventRedelivery",
    models.InboundMessage: "InboundMessageView",
    models.InboundPage: "InboundPage",
    models.Suppression: "Suppression",
    models.SuppressionPage: "SuppressionPage",
    models.SuppressionRemoved: "SuppressionRemoved",
    models.BulkSuppressed: "BulkSuppressed",
    models.Balance: "Balance",
    models.DeliveryAttempt: "DeliveryAttemptView",
    models.DeliveriesPage: "DeliveriesPage",
    models.ScheduleCancelled: "ScheduleCancelled",
}
NOT_IN_THE_API = {models.Model, models.WebhookEvent}  # the base class; a webhook body is not a response


def nullable(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


def test_every_model_is_checked_against_a_schema() -> None:
    defined = {
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, models.Model) and value.__module__ == models.__name__
    }
    assert defined - NOT_IN_THE_API == set(MODEL_SCHEMAS)


@pytest.mark.parametrize(
    ("model", "schema_name"), MODEL_SCHEMAS.items(), ids=lambda item: getattr(item, "__name__", item)
)
def test_each_model_has_its_schema_s_fields_required_and_nullable_alike(
    model: type[models.Model], schema_name: str
) -> None:
    schema = SCHEMAS[schema_name]
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    assert set(fields) == set(schema["properties"]), schema_name
    assert {name for name, field in fields.items() if field.is_required()} == set(schema.get("required", []))
    for name, field in fields.items():
        accepts_none = type(None) in typing.get_args(field.annotation)
        assert accepts_none == nullable(schema["properties"][name]), f"{schema_name}.{name}"


def test_the_status_enum_is_the_api_s() -> None:
    assert [status.value for status in models.SmsStatus] == SCHEMAS["SmsStatus"]["enum"]


def test_a_send_takes_every_field_post_send_takes() -> None:
    assert set(SendOptions.__annotations__) | {"to", "message", "dry_run"} == set(SCHEMAS["SendRequest"]["properties"])
    assert set(PersonalRecipient.__annotations__) == set(SCHEMAS["Recipient"]["properties"])
    send = OPENAPI["paths"][PREFIX + "send"]["post"]
    assert "Idempotency-Key" in {parameter["name"] for parameter in send["parameters"]}


def every_call() -> list[Call[Any]]:
    when = datetime(2026, 12, 1, tzinfo=UTC)
    pagers: list[Pager[Any, Any]] = [
        _calls.recipients("m1", 10),
        _calls.messages(
            status="delivered",
            created_after=when,
            created_before=when,
            reference="r",
            sender_id="S",
            recipient="+254712345678",
            page_size=10,
        ),
        _calls.events(after="1", type="sms.sent", page_size=10),
        _calls.webhook_deliveries(failed_only=True, page_size=10),
        _calls.inbound(page_size=10),
        _calls.suppressions(page_size=10),
    ]
    return [
        _calls.send(["+254712345678"], "hi", {}, None),
        _calls.quote(["+254712345678"], "hi", {}),
        _calls.status("m1"),
        _calls.cancel_schedule("s1"),
        _calls.redeliver("e1"),
        _calls.add_suppression("+254712345678", "asked"),
        _calls.add_suppressions(["+254712345678"], None),
        _calls.remove_suppression("+254712345678"),
        _calls.balance(),
        *(pager.first for pager in pagers),
        *(replace(pager.first, params={**pager.first.params, pager.cursor_param: "c"}) for pager in pagers),
    ]


@pytest.mark.parametrize("call", every_call(), ids=lambda call: f"{call.method} {call.path} {sorted(call.params)}")
def test_each_call_is_a_documented_path_method_and_parameters(call: Call[Any]) -> None:
    templated = {path.removeprefix(PREFIX): path for path in OPENAPI["paths"] if path.startswith(PREFIX)}
    concrete = {
        template.replace("{message_id}", "m1")
        .replace("{schedule_id}", "s1")
        .replace("{event_id}", "e1")
        .replace("{number}", "+254712345678"): path
        for template, path in templated.items()
    }
    assert call.path in concrete, call.path
    operation = OPENAPI["paths"][concrete[call.path]][call.method.lower()]
    documented = {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"}
    assert set(call.params) <= documented
    assert (call.body is not None) == ("requestBody" in operation)
