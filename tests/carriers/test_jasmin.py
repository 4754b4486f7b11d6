"""The Jasmin connector against a loopback Jasmin that follows the ja-http documentation:
submissions, error classification, and its DLRs thrown back at our receipts endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lisoloo.carriers import Submission, SubmitOutcome
from lisoloo.carriers.http import receipts_url
from lisoloo.carriers.jasmin import JasminCarrier, JasminConfig
from lisoloo.carriers.secrets import CarrierSecrets
from lisoloo.status import SmsStatus
from tests.carriers.fakes import FakeJasmin, LoopbackServer, Reply, receipts_endpoint, wait_for

REF = "org_0123456789abcdef.6a1c0e5f0123456789abcdef.3"
TOKEN = "lct_jasmin-test-token"
BASE_PATH = "/api/v1/lisoloo/sms-api"


def secrets() -> CarrierSecrets:
    return CarrierSecrets(password="jasmin-pw", receipt_token=TOKEN)


def submission(
    to: str = "+254712345678", text: str = "Your code is 4821", sender: str | None = "LISOLOO"
) -> Submission:
    return Submission(reference=REF, to=to, text=text, sender_id=sender, segments=1)


def connector(send_url: str, receipts_base: str = "http://127.0.0.1:9" + BASE_PATH, **config: float) -> JasminCarrier:
    return JasminCarrier(JasminConfig(send_url, "lisoloo", receipts_base, timeout_seconds=2.0, **config), secrets)


@pytest.fixture
def jasmin() -> Iterator[FakeJasmin]:
    with FakeJasmin() as fake:
        yield fake


def test_a_message_is_queued_and_both_dlr_levels_come_back_acknowledged(jasmin: FakeJasmin) -> None:
    carrier = connector(jasmin.send_url)
    with receipts_endpoint(carrier) as (endpoint_server, endpoint):
        carrier = connector(jasmin.send_url, endpoint_server.url + BASE_PATH)
        [result] = carrier.submit([submission()])
        assert result.outcome is SubmitOutcome.ACCEPTED
        assert result.carrier_ref and len(result.carrier_ref) == 36
        assert result.lookup_refs == ()  # the dlr-url carries our reference

        assert wait_for(lambda: len(endpoint.receipts) == 2)
    sent, delivered = endpoint.receipts
    assert (sent.status, delivered.status) == (SmsStatus.SENT, SmsStatus.DELIVERED)
    assert {sent.reference, delivered.reference} == {REF}
    assert {sent.carrier_ref, delivered.carrier_ref} == {result.carrier_ref}
    assert endpoint.tokens == [TOKEN, TOKEN]
    # Answered ACK/Jasmin, so Jasmin threw each DLR once, by POST, to the URL we gave it.
    assert [(status, body) for _, _, status, body in jasmin.thrown] == [(200, "ACK/Jasmin")] * 2
    assert {url for url, _, _, _ in jasmin.thrown} == {
        receipts_url(endpoint_server.url + BASE_PATH, "jasmin", TOKEN, REF)
    }


def test_the_send_request_follows_the_http_api(jasmin: FakeJasmin) -> None:
    connector(jasmin.send_url).submit([submission()])
    [seen] = jasmin.server.seen
    assert (seen.method, seen.headers["content-type"]) == ("POST", "application/x-www-form-urlencoded")
    form = seen.form
    assert form == {
        "username": "lisoloo",
        "password": "jasmin-pw",
        "to": "+254712345678",
        "from": "LISOLOO",
        "content": "Your code is 4821",
        "dlr": "yes",
        "dlr-url": f"http://127.0.0.1:9{BASE_PATH}/receipts/jasmin?token={TOKEN}&ref={REF}",
        "dlr-level": "3",
        "dlr-method": "POST",
    }


def test_ucs2_text_goes_as_utf16_hex_with_coding_8(jasmin: FakeJasmin) -> None:
    [result] = connector(jasmin.send_url).submit([submission(text="Habari 😀", sender=None)])
    assert result.outcome is SubmitOutcome.ACCEPTED
    form = jasmin.server.seen[0].form
    assert form["coding"] == "8"
    assert bytes.fromhex(form["hex-content"]).decode("utf-16-be") == "Habari 😀"
    assert "content" not in form and "from" not in form


def test_no_route_rejects_the_message(jasmin: FakeJasmin) -> None:
    [result] = connector(jasmin.send_url).submit([submission(to="+99912345")])
    assert (result.outcome, result.error_code, result.error_message) == (
        SubmitOutcome.REJECTED,
        "412",
        'Error "No route found"',
    )


def test_wrong_credentials_are_ours_to_fix_so_transient() -> None:
    with FakeJasmin(password="another") as jasmin:
        [result] = connector(jasmin.send_url).submit([submission()])
    assert (result.outcome, result.error_code) == (SubmitOutcome.TRANSIENT, "403")


def test_an_smsc_refusal_after_queueing_comes_back_as_a_rejected_receipt() -> None:
    with FakeJasmin(smsc_status="ESME_RINVDSTADR") as jasmin:
        carrier = connector(jasmin.send_url)
        with receipts_endpoint(carrier) as (endpoint_server, endpoint):
            [result] = connector(jasmin.send_url, endpoint_server.url + BASE_PATH).submit([submission()])
            assert result.outcome is SubmitOutcome.ACCEPTED  # queued in Jasmin
            assert wait_for(lambda: len(endpoint.receipts) == 1)
    [receipt] = endpoint.receipts
    assert (receipt.status, receipt.error_code) == (SmsStatus.REJECTED, "ESME_RINVDSTADR")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(500, 'Error "Cannot send submit_sm, check SMPPClientManagerPB log file for details"'), "transient"),
        (Reply(503, "busy"), "transient"),
        (Reply(429, "slow down"), "transient"),
        (Reply(400, 'Error "Argument coding has an invalid value: 99."'), "rejected"),
        (Reply(200, "Success without an id"), "accepted"),
        (Reply(302, ""), "transient"),
    ],
)
def test_answers_are_classified(reply: Reply, outcome: str) -> None:
    with LoopbackServer(lambda seen: reply) as server:
        [result] = connector(server.url + "/send").submit([submission()])
    assert result.outcome == outcome


def test_a_timeout_is_uncertain_and_a_refused_connection_transient() -> None:
    # A timeout after sending may have been taken (same carrier only); a refused connection was not (fail over)
    with LoopbackServer(lambda seen: Reply(200, 'Success "late"', delay=1.0)) as server:
        [slow] = JasminCarrier(
            JasminConfig(server.url + "/send", "lisoloo", "http://127.0.0.1:9", timeout_seconds=0.2), secrets
        ).submit([submission()])
    assert slow.outcome is SubmitOutcome.UNCERTAIN
    with LoopbackServer(lambda seen: Reply()) as server:
        closed = server.url
    [refused] = connector(closed + "/send").submit([submission()])
    assert refused.outcome is SubmitOutcome.TRANSIENT


def test_unavailable_credentials_send_nothing_and_retry_later(jasmin: FakeJasmin) -> None:
    def broken() -> CarrierSecrets:
        raise RuntimeError("ParameterNotFound")

    carrier = JasminCarrier(JasminConfig(jasmin.send_url, "lisoloo", "http://127.0.0.1:9"), broken)
    assert [result.outcome for result in carrier.submit([submission(), submission()])] == ["transient"] * 2
    assert jasmin.server.seen == []
