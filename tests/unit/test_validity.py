"""Validity periods (DESIGN §12): the request's bounds, what each carrier is handed, and the
receipt deadline of a message that has one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from lisoloo.carriers import Submission
from lisoloo.carriers.generic import GenericHttpCarrier, GenericHttpConfig, HttpCarrierMapping
from lisoloo.carriers.jasmin import JasminCarrier, JasminConfig
from lisoloo.carriers.kannel import KannelCarrier, KannelConfig
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.deadlines import capped, receipt_deadline
from lisoloo.models import SendRequest

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
GRACE = timedelta(minutes=10)
SECRETS = CarrierSecrets(password="p", receipt_token="t")


def no_secrets(name: str) -> CarrierSecrets:
    return SECRETS


def submission(validity: int | None) -> Submission:
    return Submission(
        reference="org_0123456789abcdef.0123456789abcdef01234567.0",
        to="+254712345678",
        text="hi",
        sender_id=None,
        segments=1,
        validity_seconds=validity,
    )


@pytest.mark.parametrize(("value", "ok"), [(59, False), (60, True), (259_200, True), (259_201, False), ("60", False)])
def test_validity_period_bounds(value: Any, ok: bool) -> None:
    body = {"to": ["+254712345678"], "message": "hi", "validity_period": value}
    if ok:
        assert SendRequest.model_validate(body).validity_period == value
    else:
        with pytest.raises(ValidationError):
            SendRequest.model_validate(body)


@pytest.mark.parametrize(("seconds", "minutes"), [(None, None), (1, 1), (60, 1), (61, 2), (259_200, 4_320)])
def test_kannel_and_jasmin_get_whole_minutes_rounded_up(seconds: int | None, minutes: int | None) -> None:
    # Given a submission with that much validity left
    kannel = KannelCarrier(KannelConfig("http://k/cgi-bin/sendsms", "u", "http://api"), no_secrets)
    jasmin = JasminCarrier(JasminConfig("http://j/send", "u", "http://api"), no_secrets)
    query = kannel.sendsms_query(submission(seconds), SECRETS)
    form = jasmin.send_form(submission(seconds), SECRETS)
    # Then Kannel's sendsms gets ``validity`` and Jasmin ``validity-period``, in minutes, or neither
    assert query.get("validity") == (str(minutes) if minutes else None)
    assert form.get("validity-period") == (str(minutes) if minutes else None)


def test_the_generic_mapping_places_seconds_where_it_says() -> None:
    mapping = HttpCarrierMapping.model_validate({"submit": {"validity": "options.ttl"}})
    carrier = GenericHttpCarrier(GenericHttpConfig("agg", "http://agg", "http://api", mapping=mapping), no_secrets)
    assert carrier.request_body(submission(600), SECRETS)["options"] == {"ttl": 600}
    # And a mapping without the path sends none
    plain = GenericHttpCarrier(GenericHttpConfig("agg", "http://agg", "http://api"), no_secrets)
    assert "ttl" not in str(plain.request_body(submission(600), SECRETS))


@pytest.mark.parametrize(
    ("valid_until", "deadline"),
    [
        (None, T0 + DAY),  # no validity: the delivery timeout
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=11)),  # the validity's end plus the grace
        (T0 + timedelta(hours=72), T0 + DAY),  # capped at the delivery timeout
    ],
)
def test_receipt_deadline(valid_until: datetime | None, deadline: datetime) -> None:
    assert receipt_deadline(T0, DAY, valid_until, GRACE) == deadline


def test_a_recipients_deadline_is_kept_within_the_validity() -> None:
    late = T0 + timedelta(hours=5)
    assert capped(late, T0 + timedelta(hours=1), GRACE) == T0 + timedelta(hours=1) + GRACE
    assert capped(late, None, GRACE) == late
    # Waiting on a carrier retry (no deadline yet) stays so: the retry itself expires it.
    assert capped(None, T0, GRACE) is None
