"""``lisoloo-admin numbers assign|list|release`` and ``set-keywords`` (DESIGN §9): where replies
reach an organization, and the words and replies it adds to STOP/START/HELP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from lisoloo.inbound import address
from lisoloo.keywords import OrganizationWords, check_word
from lisoloo.models import MAX_MESSAGE_CHARACTERS
from lisoloo.storage import SmsRepository
from lisoloo.storage.inbound_numbers import NumberTakenError
from lisoloo.two_way import ConsentSettings, InboundNumber
from lisoloo_admin.target import AdminError

_SHORT_CODE_DIGITS = range(3, 9)


def _number_row(number: InboundNumber) -> dict[str, Any]:
    return {
        "number": number.number,
        "org_id": number.org_id,
        "keyword": number.keyword,
        "assigned_at": number.assigned_at.isoformat() if number.assigned_at else None,
    }


def _short_code(value: str) -> str:
    if not (value.isascii() and value.isdigit() and len(value) in _SHORT_CODE_DIGITS):
        raise AdminError(f"a short code is 3-8 ASCII digits, not {value!r}")
    return value


def _phone_number(value: str) -> str:
    number = address(value, "ZZ")
    if not number.startswith("+"):
        raise AdminError(f"a dedicated number is an international number (+ and 8-15 digits), not {value!r}")
    return number


def _receiver(value: str) -> str:
    """A number as inbound messages name it: a short code's digits, or a phone number in E.164."""
    compact = value.replace(" ", "")
    if compact.isascii() and compact.isdigit() and len(compact) <= max(_SHORT_CODE_DIGITS):
        return _short_code(compact)
    return _phone_number(value)


def _word(value: str) -> str:
    try:
        return check_word(value)
    except ValueError as error:
        raise AdminError(str(error)) from None


class TwoWayAdmin:
    def __init__(self, repository: SmsRepository, now: Callable[[], datetime]) -> None:
        self.repository = repository
        self.now = now

    def assign(self, org_id: str, number: str | None, short_code: str | None, keyword: str | None) -> dict[str, Any]:
        if (number is None) == (short_code is None):
            raise AdminError("give a number, or --short-code with --keyword")
        if short_code is not None and keyword is None:
            raise AdminError("a shared short code needs --keyword: its first word names the organization")
        if number is not None and keyword is not None:
            raise AdminError("a dedicated number takes no keyword: every reply to it is the organization's")
        assignment = InboundNumber(
            # A number alone is the organization's own (a phone number, or a dedicated short code).
            number=_receiver(number) if number is not None else _short_code(short_code or ""),
            org_id=org_id,
            keyword=_word(keyword) if keyword is not None else None,
            assigned_at=self.now(),
        )
        try:
            self.repository.inbound_numbers.assign(assignment, assignment.assigned_at or self.now())
        except NumberTakenError:
            taken = f"{assignment.number} {assignment.keyword or ''}".strip()
            raise AdminError(f"{taken} is assigned already (or is the other kind of number)") from None
        return {"assigned": _number_row(assignment)}

    def list(self, org_id: str) -> list[dict[str, Any]]:
        return [_number_row(number) for number in self.repository.inbound_numbers.of_organization(org_id)]

    def release(self, org_id: str, number: str, keyword: str | None) -> dict[str, Any]:
        stored = (
            _short_code(number) if number.isascii() and number.isdigit() and len(number) <= 8 else _phone_number(number)
        )
        word = _word(keyword) if keyword is not None else None
        if not self.repository.inbound_numbers.release(org_id, stored, word):
            raise AdminError(f"{org_id} does not hold {stored} {word or ''}".strip())
        return {"released": {"number": stored, "org_id": org_id, "keyword": word}}

    def set_keywords(
        self,
        org_id: str,
        *,
        stop: Sequence[str],
        start: Sequence[str],
        help_words: Sequence[str],
        replies: dict[str, str | None],
    ) -> dict[str, Any]:
        """Replaces the organization's own words and its replies (an empty reply: none sent)."""
        for name, text in replies.items():
            if text is not None and len(text) > MAX_MESSAGE_CHARACTERS:
                raise AdminError(f"the {name} reply is longer than {MAX_MESSAGE_CHARACTERS} characters")
        words = OrganizationWords(
            stop=tuple(dict.fromkeys(_word(word) for word in stop)),
            start=tuple(dict.fromkeys(_word(word) for word in start)),
            help=tuple(dict.fromkeys(_word(word) for word in help_words)),
        )
        overlap = (set(words.stop) & set(words.start)) | (set(words.help) & (set(words.stop) | set(words.start)))
        if overlap:
            raise AdminError(f"a word can mean only one thing: {', '.join(sorted(overlap))}")
        settings = ConsentSettings(
            words=words,
            stop_reply=replies.get("stop") or None,
            start_reply=replies.get("start") or None,
            help_reply=replies.get("help") or None,
        )
        self.repository.organizations.set_consent(org_id, settings, self.now())
        return {
            "org_id": org_id,
            "stop_words": list(words.stop),
            "start_words": list(words.start),
            "help_words": list(words.help),
            "stop_reply": settings.stop_reply,
            "start_reply": settings.start_reply,
            "help_reply": settings.help_reply,
            "note": "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, START, UNSTOP and HELP apply as well; "
            "case, spaces and punctuation are ignored",
        }
