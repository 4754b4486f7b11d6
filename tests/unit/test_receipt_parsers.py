"""Receipt parsers against the formats carriers send, with samples from their documentation.

Sources of the samples (copied as published):
- SMPP 3.4 Appendix B's template; Vonage (Nexmo) "How to read an SMPP delivery receipt";
  smppcenter.com "How to read SMPP delivery receipt" (12-digit dates); a Stack Overflow
  answer quoting an SMSC (no ``text`` field).
- Kannel: the query strings a real Kannel 1.4.5 (Debian) smsbox fetched from our dlr-url
  with fakesmsc (recorded while building tests/carriers), its ``NACK/0x%08lx/<reason>`` and
  SMPP-receipt ``%A`` texts, and the dlr-mask bits of the user guide.
- Jasmin: the ja-http "Receiving DLR" tables (level 1 and level 2/3 fields and examples).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lisoloo.carriers import ReceiptRequest
from lisoloo.carriers.dlr import (
    jasmin_receipt,
    kannel_receipt,
    kannel_status,
    parse_smpp_date,
    parse_smpp_receipt,
    receipt_fields,
)
from lisoloo.carriers.generic import HttpCarrierMapping, ReceiptMapping, generic_receipts, get_path, parse_time
from lisoloo.carriers.jasmin import JasminCarrier, JasminConfig
from lisoloo.carriers.kannel import KannelCarrier, KannelConfig
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.entities import RecipientKey
from lisoloo.status import SmsStatus, status_of_parts

REF = "org_0123456789abcdef.6a1c0e5f0123456789abcdef.0"

# --- SMPP 3.4 Appendix B ------------------------------------------------------------------

NEXMO = (
    "id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 done date:1601010101 stat:DELIVRD err:000 text:none"
)
SMPPCENTER = (
    "id:64567564356765435676 sub:001 dlvrd:001 submit date:190608165232 done date:190608165237"
    " stat:DELIVRD err:000 text:Hello World"
)
STACKOVERFLOW = (
    "id:40072910491427628 sub:001 dlvrd:001 submit date:1007291049 done date:1007291049 stat:DELIVRD err:000"
)
SPEC_TEMPLATE = (
    "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm"
    " stat:DDDDDDD err:E Text: . . . . . . . . ."
)


def receipt_with(stat: str, err: str = "000") -> str:
    return (
        f"id:7220011 sub:001 dlvrd:000 submit date:2611231113 done date:2611231114 stat:{stat} err:{err} text:Your code"
    )


@pytest.mark.parametrize(
    ("text", "receipt_id", "status", "done", "body"),
    [
        (NEXMO, "0000000012345678", SmsStatus.DELIVERED, datetime(2016, 1, 1, 1, 1, tzinfo=UTC), "none"),
        (
            SMPPCENTER,
            "64567564356765435676",
            SmsStatus.DELIVERED,
            datetime(2019, 6, 8, 16, 52, 37, tzinfo=UTC),
            "Hello World",
        ),
        (STACKOVERFLOW, "40072910491427628", SmsStatus.DELIVERED, datetime(2010, 7, 29, 10, 49, tzinfo=UTC), None),
        # The specification's own template: every field is there, none holds a value we can use.
        (SPEC_TEMPLATE, "IIIIIIIIII", SmsStatus.UNKNOWN, None, ". . . . . . . . ."),
    ],
)
def test_published_smpp_receipts_are_read(
    text: str, receipt_id: str, status: SmsStatus, done: datetime | None, body: str | None
) -> None:
    receipt = parse_smpp_receipt(text)
    assert receipt is not None
    assert (receipt.id, receipt.status, receipt.done_date, receipt.text) == (receipt_id, status, done, body)


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", SmsStatus.DELIVERED),
        ("EXPIRED", SmsStatus.EXPIRED),
        ("DELETED", SmsStatus.UNDELIVERED),
        ("UNDELIV", SmsStatus.UNDELIVERED),
        ("ACCEPTD", SmsStatus.ACCEPTED),
        ("UNKNOWN", SmsStatus.DELIVERY_UNKNOWN),
        ("REJECTD", SmsStatus.REJECTED),
        ("ENROUTE", SmsStatus.ENROUTE),
        # The long message_state names some SMSCs write instead.
        ("DELIVERED", SmsStatus.DELIVERED),
        ("UNDELIVERABLE", SmsStatus.UNDELIVERED),
        ("REJECTED", SmsStatus.REJECTED),
        ("delivrd", SmsStatus.DELIVERED),
        # A state nobody documents: read, but it moves no one.
        ("SKIPPED", SmsStatus.UNKNOWN),
    ],
)
def test_every_smpp_stat_maps_to_our_status(stat: str, status: SmsStatus) -> None:
    receipt = parse_smpp_receipt(receipt_with(stat))
    assert receipt is not None and receipt.status is status


def test_fields_are_found_by_name_in_any_order_and_case_and_never_inside_the_text() -> None:
    text = "STAT:UNDELIV ERR:0B1 ID:abc-1 Done Date:2611231114 text:stat:DELIVRD id:forged"
    receipt = parse_smpp_receipt(text)
    assert receipt is not None
    assert (receipt.id, receipt.status, receipt.err, receipt.text) == (
        "abc-1",
        SmsStatus.UNDELIVERED,
        "0B1",
        "stat:DELIVRD id:forged",
    )
    assert receipt.done_date == datetime(2026, 11, 23, 11, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "ACK/",
        "NACK/0x00000045/Submit failed",
        "id: stat:",
        "stat:DELIVRD err:000",
        "id:1 err:000",
        "x" * 20_000,
    ],
)
def test_what_is_not_a_receipt_reads_as_none(text: str) -> None:
    assert parse_smpp_receipt(text) is None


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("1601010101", datetime(2016, 1, 1, 1, 1, tzinfo=UTC)),
        ("190608165237", datetime(2019, 6, 8, 16, 52, 37, tzinfo=UTC)),
        ("YYMMDDhhmm", None),
        ("1613010101", None),  # month 13
        ("16010101", None),
        (None, None),
    ],
)
def test_smpp_dates(value: str | None, moment: datetime | None) -> None:
    assert parse_smpp_date(value) == moment


# --- Kannel dlr-url ------------------------------------------------------------------------

# What a real Kannel 1.4.5 smsbox fetched from our dlr-url (fakesmsc as the SMSC): the
# SMSC's ack of a single message, then the handset's receipt, under the SMSC's id for it.
KANNEL_SMSC_ACK = f"token=lct_abc&ref={REF}&status=8&answer=ACK%2F&foreign_id=&smsc_id=fake&ts=1795432426"
KANNEL_DELIVERED = (
    f"token=lct_abc&ref={REF}&status=1&answer=&foreign_id=8c0c37a2-0c3b-46ac-b1db-0550b6342b78"
    "&smsc_id=fake&ts=1795432426"
)


@pytest.mark.parametrize(
    ("code", "answer", "status"),
    [
        ("1", "", SmsStatus.DELIVERED),
        ("2", "", SmsStatus.UNDELIVERED),
        ("4", "", SmsStatus.ENROUTE),
        ("8", "ACK/", SmsStatus.SENT),
        ("16", "NACK/0x00000045/Submit failed", SmsStatus.REJECTED),
        # Combinations: the most telling bit wins.
        ("9", "", SmsStatus.DELIVERED),
        ("12", "", SmsStatus.ENROUTE),
        ("18", "", SmsStatus.UNDELIVERED),
        ("24", "", SmsStatus.REJECTED),
        ("31", "", SmsStatus.DELIVERED),
        ("34", "", SmsStatus.UNDELIVERED),  # 0x22, DLR_EXPIRED in later Kannels
        # A failure refined by the SMSC's receipt text in %A.
        ("2", receipt_with("EXPIRED"), SmsStatus.EXPIRED),
        ("2", receipt_with("REJECTD"), SmsStatus.REJECTED),
        ("2", receipt_with("UNKNOWN"), SmsStatus.DELIVERY_UNKNOWN),
        ("2", receipt_with("DELETED"), SmsStatus.UNDELIVERED),
        ("2", receipt_with("DELIVRD"), SmsStatus.UNDELIVERED),  # contradicts the code: the code wins
        ("1", receipt_with("DELIVRD"), SmsStatus.DELIVERED),
        # No bit we know: read, moves no one.
        ("0", "", SmsStatus.UNKNOWN),
        ("32", "", SmsStatus.UNKNOWN),
        # Not a DLR type at all.
        ("", "", None),
        ("%d", "", None),
        ("-1", "", None),
        ("²", "", None),  # a digit to str.isdigit(), not to int()
        (" 1\n", "", SmsStatus.DELIVERED),  # surrounding blanks are tolerated
        ("1 2", "", None),
        ("delivered", "", None),
        ("99999999", "", None),
    ],
)
def test_kannel_dlr_types(code: str, answer: str, status: SmsStatus | None) -> None:
    assert kannel_status(code, answer) is status


def test_a_real_kannel_smsc_ack_is_sent_and_names_no_part() -> None:
    receipt = kannel_receipt(dict(parse_qsl(KANNEL_SMSC_ACK, keep_blank_values=True)))
    assert receipt is not None
    assert (receipt.status, receipt.reference, receipt.carrier_ref, receipt.part) == (SmsStatus.SENT, REF, REF, None)
    assert receipt.done_at == datetime.fromtimestamp(1795432426, UTC)


def test_a_real_kannel_final_dlr_stands_for_the_whole_message() -> None:
    # Kannel asks for a DLR on the first part of a split message only: never a part receipt.
    receipt = kannel_receipt(dict(parse_qsl(KANNEL_DELIVERED, keep_blank_values=True)))
    assert receipt is not None
    assert receipt.status is SmsStatus.DELIVERED
    assert receipt.reference == REF
    assert receipt.carrier_ref == "8c0c37a2-0c3b-46ac-b1db-0550b6342b78"
    assert receipt.part is None


def test_kannel_carries_the_smpp_error_and_done_date_or_the_nack_code() -> None:
    expired = kannel_receipt({"ref": REF, "status": "2", "answer": receipt_with("EXPIRED", "00B"), "ts": "1"})
    assert expired is not None
    assert (expired.status, expired.error_code) == (SmsStatus.EXPIRED, "00B")
    assert expired.done_at == datetime(2026, 11, 23, 11, 14, tzinfo=UTC)
    nack = kannel_receipt({"ref": REF, "status": "16", "answer": "NACK/0x0000000b/Invalid Destination Address"})
    assert nack is not None and (nack.status, nack.error_code) == (SmsStatus.REJECTED, "0x0000000b")


@pytest.mark.parametrize(
    "fields",
    [{}, {"ref": REF}, {"status": "1"}, {"ref": "", "status": "1"}, {"ref": REF, "status": "x"}],
)
def test_kannel_receipts_without_our_reference_or_a_type_are_unreadable(fields: dict[str, str]) -> None:
    assert kannel_receipt(fields) is None


# --- Jasmin --------------------------------------------------------------------------------

JASMIN_ID = "16fd2706-8baf-433b-82eb-8c7fada847da"  # the documentation's example id


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"id": JASMIN_ID, "message_status": "ESME_ROK", "level": "1"}, SmsStatus.SENT, None),
        (
            {"id": JASMIN_ID, "message_status": "ESME_RINVNUMDESTS", "level": "1"},
            SmsStatus.REJECTED,
            "ESME_RINVNUMDESTS",
        ),
        (
            {
                "id": JASMIN_ID,
                "id_smsc": "2567",
                "message_status": "DELIVRD",
                "level": "3",
                "subdate": "1311022338",
                "donedate": "1311022338",
                "sub": "1",
                "dlvrd": "1",
                "err": "0",
                "text": "Hello foo bar",
            },
            SmsStatus.DELIVERED,
            "0",
        ),
        ({"id": JASMIN_ID, "message_status": "UNDELIV", "level": "2", "err": "001"}, SmsStatus.UNDELIVERED, "001"),
        ({"id": JASMIN_ID, "message_status": "EXPIRED", "level": "3"}, SmsStatus.EXPIRED, None),
        ({"id": JASMIN_ID, "message_status": "REJECTD", "level": "3"}, SmsStatus.REJECTED, None),
        ({"id": JASMIN_ID, "message_status": "ENROUTE", "level": "3"}, SmsStatus.ENROUTE, None),
        ({"id": JASMIN_ID, "message_status": "NOSUCH", "level": "3"}, SmsStatus.UNKNOWN, None),
    ],
)
def test_jasmin_dlr_fields(fields: dict[str, str], status: SmsStatus, error: str | None) -> None:
    receipt = jasmin_receipt({**fields, "ref": REF})
    assert receipt is not None
    assert (receipt.carrier_ref, receipt.status, receipt.error_code, receipt.reference) == (
        JASMIN_ID,
        status,
        error,
        REF,
    )


def test_jasmin_done_date_is_read() -> None:
    receipt = jasmin_receipt({"id": JASMIN_ID, "message_status": "DELIVRD", "donedate": "1311022338"})
    assert receipt is not None and receipt.done_at == datetime(2013, 11, 2, 23, 38, tzinfo=UTC)
    assert receipt.reference is None


@pytest.mark.parametrize(
    "fields", [{}, {"id": JASMIN_ID}, {"message_status": "DELIVRD"}, {"id": " ", "message_status": "x"}]
)
def test_jasmin_receipts_without_id_or_status_are_unreadable(fields: dict[str, str]) -> None:
    assert jasmin_receipt(fields) is None


def test_a_jasmin_post_keeps_our_query_and_reads_its_form_body() -> None:
    body = f"id={JASMIN_ID}&level=3&message_status=DELIVRD&id_smsc=2567&sub=001&dlvrd=001"
    request = ReceiptRequest("POST", body, "application/x-www-form-urlencoded", {"token": "lct_x", "ref": REF})
    [receipt] = jasmin_connector().parse_receipts(request)
    assert (receipt.reference, receipt.status) == (REF, SmsStatus.DELIVERED)


def test_form_fields_never_override_the_query_we_built() -> None:
    request = ReceiptRequest("POST", "ref=forged&id=1", "application/x-www-form-urlencoded", {"ref": REF})
    assert receipt_fields(request) == {"ref": REF, "id": "1"}


# --- the generic mapping -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "mapping", "expected"),
    [
        ('{"id": "a1", "status": "delivered"}', ReceiptMapping(), [("a1", SmsStatus.DELIVERED, None)]),
        (
            '[{"id": "a1", "status": "DELIVRD"}, {"id": "a2", "status": "failed", "error_code": 34}]',
            ReceiptMapping(),
            [("a1", SmsStatus.DELIVERED, None), ("a2", SmsStatus.FAILED, "34")],
        ),
        (
            '{"reports": [{"msg": {"id": "x"}, "state": "DELIVERED_TO_HANDSET"},'
            ' {"msg": {"id": "y"}, "state": "weird"}]}',
            ReceiptMapping(
                items="reports", id="msg.id", status="state", statuses={"delivered_to_handset": SmsStatus.DELIVERED}
            ),
            [("x", SmsStatus.DELIVERED, None), ("y", SmsStatus.UNKNOWN, None)],
        ),
        ('{"id": "a1"}', ReceiptMapping(), []),  # no status
        ('{"status": "delivered"}', ReceiptMapping(), []),  # nothing names the recipient
        ("{not json", ReceiptMapping(), []),
        ('"just a string"', ReceiptMapping(), []),
        ("[1, 2, null]", ReceiptMapping(), []),
    ],
)
def test_generic_receipts(
    body: str, mapping: ReceiptMapping, expected: list[tuple[str, SmsStatus, str | None]]
) -> None:
    receipts = generic_receipts(ReceiptRequest("POST", body, "application/json"), mapping)
    assert [(receipt.carrier_ref, receipt.status, receipt.error_code) for receipt in receipts] == expected


# Webhook bodies as published: Alibaba Cloud SMS's example (a JSON array; Status 1 sent, 2
# failed, 6 expired) and cloudnumbering's (one JSON object); for 46elks a form built from
# its documented fields (id, status, delivered), the values ours.
ALIBABA = (
    '[{"To": "8521111****", "SendDate": "Thu, 25 Nov 2021 10:25:00 +0800", "ReceiveDate": "Thu, 25 Nov 2021 '
    '10:25:33 +0800", "Status": "1", "ErrorCode": "success", "ErrorDescription": "success", "TaskId": "67890", '
    '"SmsSize": "2", "MessageId": "123450000****"}]'
)
CLOUDNUMBERING = (
    '{"timestamp": "2026-07-09T12:34:56Z", "status": "delivered", "sid": "00000000-0000-4000-8000-000000000001"}'
)


def test_published_aggregator_receipts_read_through_a_mapping() -> None:
    alibaba = ReceiptMapping(
        id="MessageId",
        reference=None,
        status="Status",
        error="ErrorCode",
        statuses={"1": SmsStatus.DELIVERED, "2": SmsStatus.UNDELIVERED, "6": SmsStatus.EXPIRED},
    )
    [receipt] = generic_receipts(ReceiptRequest("POST", ALIBABA, "application/json"), alibaba)
    assert (receipt.carrier_ref, receipt.status, receipt.error_code) == (
        "123450000****",
        SmsStatus.DELIVERED,
        "success",
    )
    cloudnumbering = ReceiptMapping(id="sid", done_at="timestamp", statuses={"rejected": SmsStatus.REJECTED})
    [receipt] = generic_receipts(ReceiptRequest("POST", CLOUDNUMBERING, "application/json"), cloudnumbering)
    assert (receipt.carrier_ref, receipt.status) == ("00000000-0000-4000-8000-000000000001", SmsStatus.DELIVERED)
    assert receipt.done_at == datetime(2026, 7, 9, 12, 34, 56, tzinfo=UTC)
    elks = ReceiptMapping(done_at="delivered", statuses={"sent": SmsStatus.SENT, "failed": SmsStatus.UNDELIVERED})
    form = "id=s70df59406a1b4643b96f3f91e0bfb7b0&status=delivered&delivered=2018-07-13T13:57:23.741000"
    [receipt] = generic_receipts(ReceiptRequest("POST", form, "application/x-www-form-urlencoded"), elks)
    assert (receipt.carrier_ref, receipt.status) == ("s70df59406a1b4643b96f3f91e0bfb7b0", SmsStatus.DELIVERED)


def test_generic_per_part_receipts_and_smpp_text_fields() -> None:
    per_part = ReceiptMapping(per_part=True)
    [receipt] = generic_receipts(ReceiptRequest("POST", '{"id": "p-2", "status": "delivered"}'), per_part)
    assert receipt.part == "p-2"
    numbered = ReceiptMapping(part="concat.part")
    body = '{"id": "m1", "status": "undelivered", "concat": {"part": 2, "total": 3}}'
    [receipt] = generic_receipts(ReceiptRequest("POST", body), numbered)
    assert (receipt.part, receipt.status) == ("2", SmsStatus.UNDELIVERED)
    smpp = ReceiptMapping(id="message_id", status="state", smpp_text="receipt")
    body = json.dumps({"receipt": receipt_with("EXPIRED", "00B")})
    [receipt] = generic_receipts(ReceiptRequest("POST", body), smpp)
    assert (receipt.carrier_ref, receipt.status, receipt.error_code) == ("7220011", SmsStatus.EXPIRED, "00B")


@pytest.mark.parametrize(
    ("document", "path", "value"),
    [
        ({"messages": [{"message-id": "a"}, {"message-id": "b"}]}, "messages.*.message-id", ["a", "b"]),
        ({"messages": [{"message-id": "a"}]}, "messages.0.message-id", "a"),
        ({"messages": {"x": 1}}, "messages.*.id", None),
        ({"data": {"id": 7}}, "data.id", 7),
        ({"data": None}, "data.id", None),
        ([1, 2], "5", None),
    ],
)
def test_paths(document: object, path: str, value: object) -> None:
    assert get_path(document, path) == value


def test_generic_receipts_from_a_form_or_a_callback_query_carry_our_reference() -> None:
    request = ReceiptRequest("POST", "id=a7&status=expired", "application/x-www-form-urlencoded", {"ref": REF})
    [receipt] = generic_receipts(request, ReceiptMapping())
    assert (receipt.carrier_ref, receipt.reference, receipt.status) == ("a7", REF, SmsStatus.EXPIRED)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-11-23T11:14:00Z", datetime(2026, 11, 23, 11, 14, tzinfo=UTC)),
        ("2026-11-23T11:14:00", datetime(2026, 11, 23, 11, 14, tzinfo=UTC)),
        (1795432426, datetime.fromtimestamp(1795432426, UTC)),
        ("1795432426000", datetime.fromtimestamp(1795432426, UTC)),
        ("261123111400", datetime(2026, 11, 23, 11, 14, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        ({"a": 1}, None),
        ("9" * 40, None),
    ],
)
def test_generic_times(value: object, moment: datetime | None) -> None:
    assert parse_time(value) == moment


def test_the_default_mapping_is_every_default() -> None:
    assert HttpCarrierMapping.from_setting("") == HttpCarrierMapping()
    with pytest.raises(ValueError):
        HttpCarrierMapping.from_setting('{"submit": {"nonsense": 1}}')


# --- parts of a multi-part recipient --------------------------------------------------------


@pytest.mark.parametrize(
    ("delivered", "failed", "failure", "status"),
    [
        (3, 0, None, SmsStatus.DELIVERED),
        (2, 1, SmsStatus.UNDELIVERED, SmsStatus.PARTIALLY_DELIVERED),
        (1, 2, SmsStatus.EXPIRED, SmsStatus.PARTIALLY_DELIVERED),
        (0, 3, SmsStatus.EXPIRED, SmsStatus.EXPIRED),
        (0, 2, SmsStatus.REJECTED, SmsStatus.REJECTED),
        (0, 2, None, SmsStatus.UNDELIVERED),
        (0, 2, SmsStatus.DELIVERED, SmsStatus.UNDELIVERED),  # not a failure state: the default one
    ],
)
def test_status_of_parts(delivered: int, failed: int, failure: SmsStatus | None, status: SmsStatus) -> None:
    assert status_of_parts(delivered, failed, failure) is status


# --- no input crashes a parser --------------------------------------------------------------

FIELD_NAMES = st.sampled_from(
    ["ref", "status", "answer", "foreign_id", "ts", "id", "message_status", "level", "donedate", "err", "token"]
)
FIELDS = st.dictionaries(FIELD_NAMES | st.text(max_size=10), st.text(max_size=200), max_size=12)
SMPP_LIKE = st.lists(
    st.sampled_from(
        ["id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:", "text:", "Text:", " ", "DELIVRD"]
    )
    | st.text(max_size=15),
    max_size=20,
).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    st.text(max_size=60) | st.builds("{}.{}.{}".format, st.text(max_size=20), st.text(max_size=24), st.text(max_size=6))
)
def test_no_reference_crashes_the_recipient_lookup(text: str) -> None:
    key = RecipientKey.from_reference(text)
    assert key is None or key.reference == text


def test_references_with_non_ascii_digits_are_not_ours() -> None:
    assert RecipientKey.from_reference("org_0123456789abcdef.6a1c0e5f0123456789abcdef.²") is None
    assert RecipientKey.from_reference(REF) == RecipientKey("org_0123456789abcdef", "6a1c0e5f0123456789abcdef", 0)


@pytest.mark.parametrize(
    "index",
    ["01", "0010", "00", "+1", "-1", " 1", "1 ", "1\n", "10000", "99999", "1_0", "٣", "9" * 5000, ""],
)
def test_only_the_canonical_index_names_a_recipient(index: str) -> None:
    # Given a reference of ours whose index is written any other way than ours writes it
    reference = f"org_0123456789abcdef.6a1c0e5f0123456789abcdef.{index}"
    # Then it names no recipient (and a 5,000-digit index does not reach int(), which refuses it)
    assert RecipientKey.from_reference(reference) is None


@pytest.mark.parametrize("index", [0, 1, 10, 999, 9999])
def test_every_index_a_message_can_have_round_trips(index: int) -> None:
    key = RecipientKey("org_0123456789abcdef", "6a1c0e5f0123456789abcdef", index)
    assert RecipientKey.from_reference(key.reference) == key


@settings(max_examples=300)
@given(st.from_regex(r"[0-9+\- _]{0,8}", fullmatch=True))
def test_a_reference_names_the_recipient_it_writes_or_none(index: str) -> None:
    # Our own ids around any index text: what it names, if anything, writes back as the same text
    key = RecipientKey.from_reference(f"org_0123456789abcdef.6a1c0e5f0123456789abcdef.{index}")
    assert key is None or (key.reference.rsplit(".", 1)[1] == index and key.index < 10_000)


@settings(max_examples=300)
@given(st.text(max_size=500) | SMPP_LIKE)
def test_no_text_crashes_the_smpp_parser(text: str) -> None:
    receipt = parse_smpp_receipt(text)
    assert receipt is None or (receipt.id and receipt.stat)


@settings(max_examples=200)
@given(
    receipt_id=st.text(alphabet=st.characters(blacklist_categories=["Z", "Cc", "Cs"]), min_size=1, max_size=30),
    stat=st.sampled_from(["DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE"]),
    text=st.text(max_size=40),
)
def test_well_formed_receipts_give_back_their_id_and_state(receipt_id: str, stat: str, text: str) -> None:
    line = (
        f"id:{receipt_id} sub:001 dlvrd:001 submit date:2611231113 done date:2611231114 stat:{stat} err:000 text:{text}"
    )
    receipt = parse_smpp_receipt(line)
    assert receipt is not None
    assert (receipt.id, receipt.stat) == (receipt_id, stat)


@settings(max_examples=300)
@given(FIELDS, st.text(max_size=200) | SMPP_LIKE)
def test_no_fields_crash_the_kannel_and_jasmin_parsers(fields: dict[str, str], answer: str) -> None:
    kannel = kannel_receipt({**fields, "answer": answer})
    jasmin = jasmin_receipt(fields)
    for receipt in (kannel, jasmin):
        assert receipt is None or isinstance(receipt.status, SmsStatus)


@settings(max_examples=300)
@given(
    method=st.sampled_from(["GET", "POST"]),
    body=st.text(max_size=300) | JSON_VALUES.map(json.dumps),
    content_type=st.sampled_from(["", "application/json", "application/x-www-form-urlencoded", "text/plain"]),
    query=st.dictionaries(FIELD_NAMES, st.text(max_size=50), max_size=6),
)
def test_no_request_crashes_a_connector_parser(
    method: str, body: str, content_type: str, query: dict[str, str]
) -> None:
    request = ReceiptRequest(method, body, content_type, query)
    mapping = ReceiptMapping(items="items", id="a.b", part="p", done_at="t", statuses={"ok": SmsStatus.DELIVERED})
    for receipts in (
        kannel_connector().parse_receipts(request),
        jasmin_connector().parse_receipts(request),
        generic_receipts(request, ReceiptMapping()),
        generic_receipts(request, mapping),
    ):
        assert all(isinstance(receipt.status, SmsStatus) for receipt in receipts)


def kannel_connector() -> KannelCarrier:
    return KannelCarrier(KannelConfig("http://127.0.0.1:9/cgi-bin/sendsms", "u", "http://127.0.0.1:9"), CarrierSecrets)


def jasmin_connector() -> JasminCarrier:
    return JasminCarrier(JasminConfig("http://127.0.0.1:9/send", "u", "http://127.0.0.1:9"), CarrierSecrets)
