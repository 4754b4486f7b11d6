"""The Kannel connector: its sendsms requests and how smsbox's answers are classified (a
loopback smsbox), then the real thing (bearerbox + smsbox + fakesmsc): submissions, the DLRs
Kannel fetches from our dlr-url, and a message through the local stack to ``delivered``."""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.http import receipts_url
from lisoloo.carriers.kannel import DLR_URL_ESCAPES, KannelCarrier, KannelConfig
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.status import SmsStatus
from tests.carriers.conftest import SECRETS_PREFIX, KannelStack
from tests.carriers.fakes import LoopbackServer, Reply, receipts_endpoint, wait_for
from tests.carriers.kannel import PASSWORD, USERNAME, RunningKannel
from tests.webhook_receiver import webhook_receiver

BASE_PATH = "/api/v1/lisoloo/sms-api"
TOKEN = "lct_kannel-test-token"
REF = "org_0123456789abcdef.6a1c0e5f0123456789abcdef.0"
LONG_TEXT = "Your parcel 4821 is on its way. " * 6  # 192 GSM-7 characters: two parts


def secrets() -> CarrierSecrets:
    return CarrierSecrets(password=PASSWORD, receipt_token=TOKEN)


def submission(text: str = "Your code is 4821", index: int = 0, sender: str | None = None) -> Submission:
    return Submission(
        reference=f"org_0123456789abcdef.6a1c0e5f0123456789abcdef.{index}",
        to="+254712345678",
        text=text,
        sender_id=sender,
        segments=1,
    )


def connector(sendsms_url: str, receipts_base: str = "http://127.0.0.1:9", **config: Any) -> KannelCarrier:
    return KannelCarrier(
        KannelConfig(sendsms_url, USERNAME, receipts_base + BASE_PATH, default_sender="LISOLOO", **config), secrets
    )


# --- a loopback smsbox ----------------------------------------------------------------------


def test_the_sendsms_request_carries_a_dlr_url_with_kannel_escape_codes() -> None:
    with LoopbackServer(lambda seen: Reply(202, "0: Accepted for delivery")) as smsbox:
        [result] = connector(smsbox.url + "/cgi-bin/sendsms", smsc="fake").submit([submission()])
    assert result.outcome is SubmitOutcome.ACCEPTED
    assert (result.carrier_ref, result.lookup_refs) == (REF, ())
    [seen] = smsbox.seen
    assert (seen.method, seen.path) == ("GET", "/cgi-bin/sendsms")
    assert seen.query == {
        "username": USERNAME,
        "password": PASSWORD,
        "to": "+254712345678",
        "text": "Your code is 4821",
        "charset": "UTF-8",
        "dlr-mask": "31",
        "dlr-url": f"http://127.0.0.1:9{BASE_PATH}/receipts/kannel?token={TOKEN}&ref={REF}"
        "&status=%d&answer=%A&foreign_id=%F&smsc_id=%i&ts=%T",
        "from": "LISOLOO",
        "smsc": "fake",
    }


def test_ucs2_text_asks_kannel_for_coding_2() -> None:
    with LoopbackServer(lambda seen: Reply(202, "0: Accepted for delivery")) as smsbox:
        connector(smsbox.url).submit([submission("Habari 😀", sender="SHOP")])
    query = smsbox.seen[0].query
    assert (query["coding"], query["charset"], query["text"], query["from"]) == ("2", "UTF-8", "Habari 😀", "SHOP")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(202, "0: Accepted for delivery"), "accepted"),
        (Reply(202, "3: Queued for later delivery"), "accepted"),
        (Reply(403, "Authorization failed for sendsms"), "transient"),
        (Reply(403, "Number(s) has/have been denied by white- and/or black-lists."), "rejected"),
        (Reply(403, "Not routable. Do not try again."), "rejected"),
        (Reply(400, "Missing receiver number, rejected"), "rejected"),
        (Reply(400, "Sender missing and no global set, rejected"), "rejected"),
        (Reply(503, "Sending failed."), "transient"),
        (Reply(500, "Internal error"), "transient"),
    ],
)
def test_smsbox_answers_are_classified(reply: Reply, outcome: str) -> None:
    with LoopbackServer(lambda seen: reply) as smsbox:
        [result] = connector(smsbox.url).submit([submission()])
    assert result.outcome == outcome
    if outcome != "accepted":
        assert result.error_message == reply.body


def test_a_silent_smsbox_is_uncertain() -> None:
    # It may have queued the message: only Kannel may be asked again, with the same reference (DESIGN §8)
    with LoopbackServer(lambda seen: Reply(202, "0: Accepted for delivery", delay=1.0)) as smsbox:
        [result] = connector(smsbox.url, timeout_seconds=0.2).submit([submission()])
    assert result.outcome is SubmitOutcome.UNCERTAIN


def test_a_receipt_url_never_holds_a_percent_sign_kannel_would_read_as_an_escape() -> None:
    assert "%" not in receipts_url("https://api.example" + BASE_PATH, "kannel", TOKEN, REF)
    with pytest.raises(ValueError, match="%"):
        receipts_url("https://api.example/a%41" + BASE_PATH, "kannel", TOKEN, REF)
    assert DLR_URL_ESCAPES.count("%") == 5


# --- a real Kannel ------------------------------------------------------------------------


def test_real_kannel_delivers_and_reports_through_our_dlr_url(kannel: RunningKannel) -> None:
    """Connector → smsbox → bearerbox → fakesmsc, and Kannel's DLRs back to a loopback
    receipts endpoint that parses them with the connector: per message an SMSC ack (8) and
    a final DLR (1). A split message gets one of each too: Kannel requests a DLR for its
    first part only."""
    parser = connector(kannel.sendsms_url)
    with receipts_endpoint(parser) as (endpoint_server, endpoint):
        carrier = connector(kannel.sendsms_url, endpoint_server.url)
        results = carrier.submit(
            [submission(index=0), submission(LONG_TEXT, index=1), submission("Habari 😀", index=2)]
        )
        assert [result.outcome for result in results] == ["accepted"] * 3, results
        if not wait_for(lambda: len(endpoint.receipts) >= 6, timeout=20):
            pytest.fail(f"Kannel sent {len(endpoint.receipts)} of 6 DLRs\n{kannel.logs()}")
        time.sleep(0.5)  # nothing more comes
    assert len(endpoint.receipts) == 6
    assert set(endpoint.tokens) == {TOKEN}
    by_reference: dict[str, list[SmsStatus]] = {}
    for receipt in endpoint.receipts:
        assert receipt.reference is not None and receipt.part is None
        by_reference.setdefault(receipt.reference, []).append(receipt.status)
    assert [sorted(by_reference[result.reference]) for result in results] == [[SmsStatus.DELIVERED, SmsStatus.SENT]] * 3
    # What the SMSC got: the text as is, the long one as two concatenated parts, UCS-2 intact.
    lines = kannel.fakesmsc_lines()
    assert "LISOLOO +254712345678 text Your code is 4821" in lines
    parts = [line for line in lines if " udh " in line]
    assert len(parts) == 2
    assert "".join(urllib.parse.unquote_plus(part.split(" data ", 1)[1]) for part in parts) == LONG_TEXT
    [ucs2] = [line for line in lines if " ucs-2 " in line]
    encoded = ucs2.split(" ucs-2 ", 1)[1].replace("+", "%20")  # fakesmsc writes a 0x20 byte as "+"
    assert urllib.parse.unquote_to_bytes(encoded).decode("utf-16-be") == "Habari 😀"


def test_real_kannel_refusing_our_password_is_transient(kannel: RunningKannel) -> None:
    carrier = KannelCarrier(
        KannelConfig(kannel.sendsms_url, USERNAME, "http://127.0.0.1:9" + BASE_PATH),
        lambda: CarrierSecrets(password="wrong", receipt_token=TOKEN),
    )
    [result] = carrier.submit([submission()])
    assert (result.outcome, result.error_code, result.error_message) == (
        SubmitOutcome.TRANSIENT,
        "403",
        "Authorization failed for sendsms",
    )


def test_a_message_sent_through_the_local_stack_comes_back_delivered_by_kannel(kannel_stack: KannelStack) -> None:
    """POST /send on the local stack, dispatch submits through the Kannel connector, Kannel
    hands it to fakesmsc and fetches our dlr-url: every recipient ends ``delivered``, the
    two-part one by the one final DLR Kannel sends for a split message."""
    headers = {"app-key": kannel_stack.app_key}
    sent = requests.post(
        f"{kannel_stack.base_url}/send",
        json={"to": ["+254712345678", "+254733000011"], "message": "Your code is 4821"},
        headers=headers,
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    long = requests.post(
        f"{kannel_stack.base_url}/send",
        json={"to": ["+254712345679"], "message": LONG_TEXT},
        headers=headers,
        timeout=10,
    )
    assert long.status_code == 200, long.text
    assert long.json()["data"]["segments"] == 2

    for reply in (sent, long):
        status = _wait_for_final(kannel_stack, reply.json()["data"]["message_id"])
        assert status["status"] == "delivered", (status, kannel_stack.logs())
        assert {recipient["status"] for recipient in status["recipients"]} == {"delivered"}
        assert (status["delivered"], status["failed"], status["pending"]) == (status["total_recipients"], 0, 0)
    assert len([line for line in kannel_stack.kannel.fakesmsc_lines() if "+254712345679 udh" in line]) == 2


def test_two_real_kannel_links_each_take_the_numbers_their_route_gives_them(kannel_stack: KannelStack) -> None:
    """Routing over two real SMSC links (DESIGN §8): +25473 goes to ``kannel-b`` (smsc-id
    fake-b) by prefix, the rest to ``kannel`` by the implicit route; each link's receipts
    come back on its own name and token, and each recipient records the carrier that took it."""
    from lisoloo.storage import SmsRepository

    # When one send holds a number of each
    sent = requests.post(
        f"{kannel_stack.base_url}/send",
        json={"to": ["+254733000021", "+254712345621"], "message": "Two links"},
        headers={"app-key": kannel_stack.app_key},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]
    status = _wait_for_final(kannel_stack, message_id)
    # Then both are delivered, each through its own link
    assert (status["status"], status["delivered"]) == ("delivered", 2), (status, kannel_stack.logs())
    first = [line for line in kannel_stack.kannel.fakesmsc_lines() if "Two links" in line]
    second = [line for line in kannel_stack.kannel.fakesmsc_lines("fakesmsc-b.out") if "Two links" in line]
    assert (len(first), len(second)) == (1, 1)
    assert "+254712345621" in first[0] and "+254733000021" in second[0]
    # And the operator sees which carrier took each
    dynamodb = kannel_stack.aws("dynamodb")
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if "SmsTable" in name]
    org_id = _org_of(kannel_stack, table, message_id)
    numbers, rows = SmsRepository(table, client=dynamodb).recipients.read_all(org_id, message_id)
    assert {numbers[index]: row.carrier for index, row in rows.items()} == {
        "+254733000021": "kannel-b",
        "+254712345621": "kannel",
    }


def _org_of(stack: KannelStack, table: str, message_id: str) -> str:
    """The demo organization's id, from the message's partition key (status does not show it)."""
    items = stack.aws("dynamodb").scan(
        TableName=table, FilterExpression="contains(PK, :id)", ExpressionAttributeValues={":id": {"S": message_id}}
    )["Items"]
    return str(items[0]["PK"]["S"].split("#")[1])


def _wait_for_final(stack: KannelStack, message_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reply = requests.get(f"{stack.base_url}/status/{message_id}", headers={"app-key": stack.app_key}, timeout=10)
        data = reply.json()["data"]
        if data["status"] in ("delivered", "failed"):
            return data
        time.sleep(0.2)
    return data


def test_a_message_texted_to_our_number_through_kannel_reaches_get_inbound_and_the_webhook(
    kannel_stack: KannelStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """fakesmsc sends an MO to Kannel; smsbox's sms-service fetches our /inbound/kannel get-url
    (``from=%p&to=%P&text=%a&id=%I&ts=%T``); the merchant owning the number lists it with
    GET /inbound and gets ``sms.received`` (and ``sms.opted_out``: it is a STOP)."""
    from lisoloo.storage import SmsRepository
    from lisoloo.two_way import InboundNumber
    from lisoloo_admin.provisioning import create_organization, issue_app_key

    dynamodb = kannel_stack.aws("dynamodb")
    [table] = [name for name in dynamodb.list_tables()["TableNames"] if "SmsTable" in name]
    repository = SmsRepository(table, client=dynamodb)
    org_id = create_organization(repository, name="Kannel two-way", default_country="KE")
    app_key = issue_app_key(repository, org_id)
    repository.inbound_numbers.assign(InboundNumber("+254711000222", org_id), datetime.now(UTC))
    token = json.loads(
        kannel_stack.aws("ssm").get_parameter(Name=f"/{SECRETS_PREFIX}/kannel", WithDecryption=True)["Parameter"][
            "Value"
        ]
    )["receipt_token"]
    get_url = f"{kannel_stack.base_url}/inbound/kannel?token={token}&from=%p&to=%P&text=%a&id=%I&ts=%T"
    with webhook_receiver() as receiver:
        configured = requests.put(
            f"{kannel_stack.base_url}/webhook",
            json={"webhook_url": receiver.url("/kannel-mo")},
            headers={"app-key": app_key},
            timeout=10,
        )
        assert configured.status_code == 200, configured.text
        mo_kannel = RunningKannel(
            tmp_path_factory.mktemp("kannel-mo"),
            mo_messages=("+254712345678 +254711000222 text STOP",),
            mo_get_url=get_url,
        )

        def listed() -> list[dict[str, Any]]:
            time.sleep(0.2)  # a merchant's pace: its rate limit is 10 requests a second
            reply = requests.get(f"{kannel_stack.base_url}/inbound", headers={"app-key": app_key}, timeout=10)
            assert reply.status_code == 200, reply.text
            entries: list[dict[str, Any]] = reply.json()["data"]["inbound"]
            return entries

        try:
            mo_kannel.start()
            wait_for(lambda: bool(listed()), timeout=30)
            wait_for(lambda: len(receiver.events("/kannel-mo")) >= 2, timeout=30)
        finally:
            mo_kannel.stop()
        types = sorted(webhook.event["type"] for webhook in receiver.events("/kannel-mo"))
    assert [(entry["from"], entry["to"], entry["text"], entry["keyword"]) for entry in listed()] == [
        ("+254712345678", "+254711000222", "STOP", "STOP")
    ], kannel_stack.logs() + mo_kannel.logs()
    assert types == ["sms.opted_out", "sms.received"]
