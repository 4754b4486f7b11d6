"""Phone numbers: a cheap shape check for the request path, the full check for dispatch.

``POST /send`` takes up to 10,000 numbers and must answer in about the same time for
one as for all of them (DESIGN §2), so :func:`normalise_number` never calls
``phonenumbers.parse`` (~0.1 ms a number). It does the few steps of ``parse`` that
decide *which* E.164 number a merchant meant (international prefix, country calling
code, national trunk prefix) from region metadata compiled once per region, and leaves
"is this a real mobile or fixed number?" to :func:`is_valid_number`, which dispatch
runs off the request path (an invalid number fails there with 1400 ``INVALID_NUMBER``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType

E164_MIN_DIGITS: Final = 8
E164_MAX_DIGITS: Final = 15  # ITU-T E.164: country code + national number, at most 15 digits
# Anything longer than this is not a phone number however it is formatted; the bound also
# keeps the regular expressions below from ever seeing a large hostile string.
MAX_RAW_LENGTH: Final = 64

# What people type between digits: whitespace, ASCII and typographic dashes, dots,
# slashes and parentheses. Anything else (letters, "*", "#", "ext.") is not a plain number.
_FORMATTING: Final = re.compile(r"[\s\-\u2010-\u2015\u2212./()]")
_ASCII_DIGITS: Final = re.compile(r"[0-9]*")  # not \d: that also takes "٣" and "²"
_INTERNATIONAL_DIALLING_PREFIX: Final = "00"
_LONGEST_COUNTRY_CODE: Final = 3

# Types a person can receive an SMS on; the rest (premium, toll-free, pager, VoIP, UAN, ...)
# are refused at dispatch.
_SMS_CAPABLE_TYPES: Final = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


class MalformedNumberError(ValueError):
    """An entry of ``to`` that is not phone-number-shaped at all (a 422 at send), as opposed
    to a well-shaped number that turns out not to exist (a 1400 failure at dispatch)."""


@dataclass(frozen=True, slots=True)
class _RegionRules:
    """The slice of a region's phonenumbers metadata that normalising needs, compiled once."""

    country_code: str
    national_number: re.Pattern[str] | None
    trunk_prefix: re.Pattern[str] | None  # the metadata's ``national_prefix_for_parsing``
    trunk_prefix_transform: str | None  # e.g. AR mobile "0 11 15 xxxx" → "9 11 xxxx"
    possible_lengths: tuple[int, ...]  # sorted, as in the metadata
    local_only_lengths: frozenset[int]

    def is_viable(self, national_digits: str) -> bool:
        return self.national_number is not None and self.national_number.fullmatch(national_digits) is not None

    def is_too_long(self, national_digits: str) -> bool:
        return len(national_digits) > self.possible_lengths[-1]

    def allows_length(self, national_digits: str) -> bool:
        """Whether what is left after dropping a trunk prefix is long enough to keep; like
        ``parse``, a too-long remainder is kept (it is the caller's number, just wrong)."""
        length = len(national_digits)
        if length in self.local_only_lengths:
            return False
        return length in self.possible_lengths or self.is_too_long(national_digits)

    def without_trunk_prefix(self, national_digits: str) -> str:
        """Drops the national trunk prefix ("0" in KE, "1" in US, "8" in RU, "06" in HU,
        carrier-selection codes in some regions), unless the number was already a viable
        national number and dropping would make it not one (a number that merely starts
        with the prefix digit). Mirrors ``phonenumbers``' own rule so the two agree."""
        if self.trunk_prefix is None or not national_digits:
            return national_digits
        match = self.trunk_prefix.match(national_digits)
        if match is None:
            return national_digits
        groups = match.groups()
        if self.trunk_prefix_transform and groups and groups[-1] is not None:
            stripped = match.expand(self.trunk_prefix_transform) + national_digits[match.end() :]
        else:
            stripped = national_digits[match.end() :]
        if self.is_viable(national_digits) and not self.is_viable(stripped):
            return national_digits
        return stripped


def _rules_for_region(region: str) -> _RegionRules | None:
    # Checked before the cache so that it holds one entry per real region, whatever callers pass.
    return _compile_region_rules(region) if region in phonenumbers.SUPPORTED_REGIONS else None


@cache
def _compile_region_rules(region: str) -> _RegionRules | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    country_code = phonenumbers.country_code_for_region(region)
    if metadata is None or country_code == 0:
        return None
    general = metadata.general_desc
    if general is None:
        return None
    pattern = general.national_number_pattern
    trunk_prefix = metadata.national_prefix_for_parsing
    return _RegionRules(
        country_code=str(country_code),
        national_number=re.compile(pattern) if pattern else None,
        trunk_prefix=re.compile(trunk_prefix) if trunk_prefix else None,
        trunk_prefix_transform=metadata.national_prefix_transform_rule or None,
        possible_lengths=tuple(sorted(general.possible_length)) or (E164_MAX_DIGITS,),
        local_only_lengths=frozenset(general.possible_length_local_only),
    )


# Country calling codes as text ("1", "254", "800", ...); they are prefix-free, so a number
# starts with at most one of them.
_COUNTRY_CODES: Final = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _has_known_country_code(international_digits: str) -> bool:
    return any(international_digits[:length] in _COUNTRY_CODES for length in range(1, _LONGEST_COUNTRY_CODE + 1))


def _national_to_international(digits: str, rules: _RegionRules) -> str:
    """Country calling code + national significant number, for digits written without
    "+" or "00". Follows ``phonenumbers.parse``: a number that starts with the region's
    own country code and only makes sense without it ("254712345678" in KE) is read as
    international; then the trunk prefix is dropped if what remains is a possible length."""
    national, national_rules = digits, rules
    if digits.startswith(rules.country_code):
        after_country_code = rules.without_trunk_prefix(digits[len(rules.country_code) :])
        if (not rules.is_viable(digits) and rules.is_viable(after_country_code)) or rules.is_too_long(digits):
            national = after_country_code
            # Read as international, the rest follows the country code's main region, as in
            # phonenumbers (GB's rules for 44 written in IM or JE, US's for 1 in CA).
            national_rules = _rules_for_country_code(rules.country_code) or rules
    without_trunk = national_rules.without_trunk_prefix(national)
    if national_rules.allows_length(without_trunk):
        national = without_trunk
    return rules.country_code + national


def _rules_for_country_code(country_code: str) -> _RegionRules | None:
    return _rules_for_region(phonenumbers.region_code_for_country_code(int(country_code)))


def normalise_number(raw: str, default_region: str) -> str:
    """``raw`` as E.164 (``+`` then 8..15 digits), or :class:`MalformedNumberError`.

    Formatting (spaces, dashes, dots, parentheses) is ignored; a leading "00" means "+";
    ``+<digits>`` is kept as written (only its country code is checked, so a well-shaped
    number is never rewritten into a different one); anything else is a national number
    of ``default_region``. Cheap: no ``phonenumbers.parse``, see the module docstring.
    """
    if len(raw) > MAX_RAW_LENGTH:
        raise MalformedNumberError("too long to be a phone number")
    compact = _FORMATTING.sub("", raw)
    if not compact:
        raise MalformedNumberError("empty phone number")
    if compact.startswith("+"):
        digits, is_international = compact[1:], True
    elif compact.startswith(_INTERNATIONAL_DIALLING_PREFIX):
        digits, is_international = compact[len(_INTERNATIONAL_DIALLING_PREFIX) :], True
    else:
        digits, is_international = compact, False
    if _ASCII_DIGITS.fullmatch(digits) is None:
        raise MalformedNumberError("a phone number holds only digits, formatting and a leading '+'")
    if not is_international:
        rules = _rules_for_region(default_region.upper())
        if rules is None:
            raise MalformedNumberError(f"unknown default region {default_region!r}")
        digits = _national_to_international(digits, rules)

    if len(digits) < E164_MIN_DIGITS:
        raise MalformedNumberError("too short to be a phone number")
    if len(digits) > E164_MAX_DIGITS:
        raise MalformedNumberError("too long to be a phone number")
    if is_international and not _has_known_country_code(digits):
        raise MalformedNumberError("unknown country calling code")
    return "+" + digits


def is_valid_number(e164: str) -> bool:
    """Whether ``e164`` is a real number an SMS can reach: canonical E.164 (as
    :func:`normalise_number` produces it), valid for its region, and mobile or fixed line.
    Costs a full ``phonenumbers.parse``, so it runs at dispatch; never raises."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    # Canonical only: "+2540712345678" parses to +254712345678, but the carrier would be
    # handed the string as stored, so it must already be the number we validated.
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != e164:
        return False
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in _SMS_CAPABLE_TYPES


def country_of(e164: str) -> str:
    """The region of an E.164 number's country calling code (``+254…`` → ``KE``); a code that
    several regions share answers its main one (``+1`` → ``US``). ``ZZ`` when none is known."""
    digits = e164.removeprefix("+")
    for length in (1, 2, 3):
        if digits[:length] in _COUNTRY_CODES:
            return phonenumbers.region_code_for_country_code(int(digits[:length]))
    return "ZZ"
