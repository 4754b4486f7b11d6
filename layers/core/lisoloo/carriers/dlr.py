"""Delivery-receipt formats carriers actually send, read into our vocabulary (DESIGN §2).

Pure functions over text and form fields: no I/O. Every parser is total: whatever it is
given, it returns a value or None (unreadable) and never raises, because a carrier that
gets anything but a 2xx sends the same receipt again and again.

- SMPP 3.4 Appendix B receipt text: ``id:… sub:… dlvrd:… submit date:… done date:…
  stat:… err:… text:…``; ``stat`` is the message state in its 7-letter short form
  (DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE).
- Kannel ``dlr-url`` fields: ``%d`` the DLR type, a bit mask (1 delivered to phone,
  2 non-delivered to phone, 4 queued on SMSC, 8 delivered to SMSC, 16 non-delivered to
  SMSC), ``%A`` the SMSC's text (an SMPP receipt, or ``ACK/`` / ``NACK/<code>/<reason>``),
  ``%F`` the SMSC's message id, ``%T`` a Unix time. Kannel asks for a DLR on the first
  part of a split message only (``sms_split`` in gw/sms.c), so its receipts are read as
  the whole message's.
- Jasmin's HTTP DLR (``id``, ``message_status``, ``level``, ``id_smsc``, ``sub``,
  ``dlvrd``, ``subdate``, ``donedate``, ``err``, ``text``): level 1 carries the SMSC's
  ``ESME_*`` answer to the submission, levels 2 and 3 the handset receipt's ``stat``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lisoloo.carriers.base import CarrierReceipt, ReceiptRequest
from lisoloo.status import SmsStatus

# SMPP 3.4 §5.2.28 message_state, as the short ``stat`` of Appendix B and as the long names
# some SMSCs put there instead.
SMPP_STATES: Mapping[str, SmsStatus] = {
    "DELIVRD": SmsStatus.DELIVERED,
    "DELIVERED": SmsStatus.DELIVERED,
    "EXPIRED": SmsStatus.EXPIRED,
    "DELETED": SmsStatus.UNDELIVERED,
    "UNDELIV": SmsStatus.UNDELIVERED,
    "UNDELIVERABLE": SmsStatus.UNDELIVERED,
    "ACCEPTD": SmsStatus.ACCEPTED,
    "ACCEPTED": SmsStatus.ACCEPTED,
    # A final state in SMPP ("message is in invalid state"): the carrier cannot tell.
    "UNKNOWN": SmsStatus.DELIVERY_UNKNOWN,
    "REJECTD": SmsStatus.REJECTED,
    "REJECTED": SmsStatus.REJECTED,
    "ENROUTE": SmsStatus.ENROUTE,
}

# Kannel's DLR type bits (gw/dlr.h), most telling first: a combination takes the first match.
KANNEL_DELIVERED = 0x01
KANNEL_FAILED = 0x02
KANNEL_BUFFERED = 0x04
KANNEL_SMSC_ACK = 0x08
KANNEL_SMSC_NACK = 0x10
_KANNEL_BITS: tuple[tuple[int, SmsStatus], ...] = (
    (KANNEL_DELIVERED, SmsStatus.DELIVERED),
    (KANNEL_FAILED, SmsStatus.UNDELIVERED),
    (KANNEL_SMSC_NACK, SmsStatus.REJECTED),
    (KANNEL_BUFFERED, SmsStatus.ENROUTE),
    (KANNEL_SMSC_ACK, SmsStatus.SENT),
)

_TEXT_FIELD = re.compile(r"(?:^|\s)text:", re.IGNORECASE)
_SMPP_FIELD = re.compile(r"(?:^|\s)(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE)
_NACK = re.compile(r"^NACK/([^/]*)", re.IGNORECASE)
# ASCII digits: str.isdigit() also admits "²" and other digits int() refuses.
_DIGITS = re.compile(r"[0-9]+")
_MAX_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class SmppReceipt:
    """The fields of an Appendix B receipt; ``stat`` upper-cased, dates None when unreadable."""

    id: str
    stat: str
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    err: str | None = None
    text: str | None = None

    @property
    def status(self) -> SmsStatus:
        return smpp_status(self.stat)


def smpp_status(stat: str) -> SmsStatus:
    """Our status for an SMPP ``stat``; ``unknown`` (change nothing) for one we cannot read."""
    return SMPP_STATES.get(stat.strip().upper(), SmsStatus.UNKNOWN)


def parse_smpp_date(value: str | None) -> datetime | None:
    """``YYMMDDhhmm`` (Appendix B) or ``YYMMDDhhmmss`` (what many SMSCs send), read as UTC."""
    if not value or not _DIGITS.fullmatch(value) or len(value) not in (10, 12):
        return None
    try:
        return datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_smpp_receipt(text: str) -> SmppReceipt | None:
    """The receipt in ``text``, or None when it has no ``id`` and ``stat``. Fields are found
    by name, in any order and any case; everything after ``text:`` is the message's start
    and is never read for fields (it may itself contain ``stat:``)."""
    if not text or len(text) > _MAX_TEXT:
        return None
    found = _TEXT_FIELD.search(text)
    head, tail = (text[: found.start()], text[found.end() :]) if found else (text, None)
    fields: dict[str, str] = {}
    for match in _SMPP_FIELD.finditer(head):
        fields.setdefault(match.group(1).lower(), match.group(2))
    receipt_id, stat = fields.get("id"), fields.get("stat")
    if not receipt_id or not stat:
        return None
    return SmppReceipt(
        id=receipt_id,
        stat=stat.upper(),
        sub=fields.get("sub"),
        dlvrd=fields.get("dlvrd"),
        submit_date=parse_smpp_date(fields.get("submit date")),
        done_date=parse_smpp_date(fields.get("done date")),
        err=fields.get("err") or None,
        text=tail.strip() if tail is not None else None,
    )


def kannel_status(code: str, answer: str = "") -> SmsStatus | None:
    """Our status for Kannel's ``%d`` (and ``%A``); None when ``code`` is not a DLR type.

    A final failure (2) is refined by the SMPP receipt in ``%A`` when there is one, so an
    expired or rejected message is not reported as merely undelivered.
    """
    code = code.strip()
    if not _DIGITS.fullmatch(code) or len(code) > 6:
        return None
    value = int(code)
    for bit, status in _KANNEL_BITS:
        if value & bit:
            if bit == KANNEL_FAILED:
                receipt = parse_smpp_receipt(answer)
                if receipt is not None and receipt.status.is_terminal and not receipt.status.is_success:
                    return receipt.status
            return status
    return SmsStatus.UNKNOWN


def kannel_receipt(fields: Mapping[str, str]) -> CarrierReceipt | None:
    """A receipt from the fields of our Kannel dlr-url (``ref``, ``status``, ``answer``,
    ``foreign_id``, ``ts``); None when it lacks our reference or a DLR type."""
    reference = (fields.get("ref") or "").strip()
    answer = fields.get("answer") or ""
    status = kannel_status(fields.get("status") or "", answer)
    if not reference or status is None:
        return None
    smpp = parse_smpp_receipt(answer)
    nack = _NACK.match(answer)
    error_code = smpp.err if smpp else None
    if error_code is None and nack is not None:
        error_code = nack.group(1) or None
    foreign_id = (fields.get("foreign_id") or "").strip() or None
    return CarrierReceipt(
        carrier_ref=foreign_id or reference,
        status=status,
        error_code=error_code,
        done_at=(smpp.done_date if smpp else None) or _unix_time(fields.get("ts")),
        reference=reference,
    )


def jasmin_receipt(fields: Mapping[str, str]) -> CarrierReceipt | None:
    """A receipt from Jasmin's DLR fields (plus our ``ref`` from the dlr-url's query)."""
    message_id = (fields.get("id") or "").strip()
    state = (fields.get("message_status") or "").strip()
    if not message_id or not state:
        return None
    if state.upper().startswith("ESME_"):
        # Level 1: the SMSC's answer to submit_sm. Jasmin stops tracking on an error.
        accepted = state.upper() == "ESME_ROK"
        status, error = (SmsStatus.SENT, None) if accepted else (SmsStatus.REJECTED, state)
    else:
        status, error = smpp_status(state), (fields.get("err") or None)
    return CarrierReceipt(
        carrier_ref=message_id,
        status=status,
        error_code=error,
        done_at=parse_smpp_date(fields.get("donedate")),
        reference=(fields.get("ref") or "").strip() or None,
    )


def receipt_fields(request: ReceiptRequest) -> dict[str, str]:
    """The query string and, for a form-encoded body, its fields (the query wins: it is
    the dlr-url we built)."""
    fields: dict[str, str] = {}
    content_type = request.content_type.lower()
    body = request.body.strip()
    form = "x-www-form-urlencoded" in content_type or (
        body and not content_type and not body.startswith(("{", "[")) and "=" in body
    )
    if form and len(body) <= _MAX_TEXT * 10:
        fields.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
    fields.update({name: value for name, value in request.query.items() if isinstance(value, str)})
    return fields


def _unix_time(value: str | None) -> datetime | None:
    if not value or not _DIGITS.fullmatch(value.strip()):
        return None
    try:
        return datetime.fromtimestamp(int(value.strip()), UTC)
    except (OverflowError, OSError, ValueError):
        return None
