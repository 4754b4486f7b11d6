"""Phone numbers: the cheap normalisation of the request path and the full check of dispatch."""

from __future__ import annotations

import contextlib
import re

import phonenumbers
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from lisoloo.phone import MalformedNumberError, is_valid_number, normalise_number

E164_SHAPE = re.compile(r"^\+[0-9]{8,15}$")  # ASCII digits only

# Regions whose examples drive the agreement property: the launch markets, one region with
# a "1" trunk prefix (US), one with carrier-code prefixes (BR), one with a two-digit prefix (HU),
# one with no trunk prefix and significant leading zeros (IT), one with variable lengths (DE).
AGREEMENT_REGIONS = ("KE", "TZ", "UG", "NG", "ZA", "GB", "US", "BR", "HU", "IT", "DE", "IN", "FR")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Kenya: national with trunk "0", national without it, international, country code without "+".
        ("0712 345 678", "KE", "+254712345678"),
        ("0712345678", "KE", "+254712345678"),
        ("712345678", "KE", "+254712345678"),
        ("+254 712 345 678", "KE", "+254712345678"),
        ("00254712345678", "KE", "+254712345678"),
        ("254712345678", "KE", "+254712345678"),
        ("2540712345678", "KE", "+254712345678"),
        # A country code shared by regions: after it, the main region's rules read the rest
        # (GB's for 44 in the Isle of Man), as phonenumbers does; this gave +4407510794.
        ("44007510794", "IM", "+447510794"),
        ("4400000000000", "JE", "+44000000000"),
        ("0712-345-678", "ke", "+254712345678"),
        # United States: formatting of every kind, the "1" trunk prefix, E.164.
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("1 201 555 0123", "US", "+12015550123"),
        ("+1 201-555-0123", "US", "+12015550123"),
        # United Kingdom, Nigeria, Tanzania: trunk "0" dropped, international kept.
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", "GB", "+447400123456"),
        ("0044 7400 123456", "GB", "+447400123456"),
        ("0802 123 4567", "NG", "+2348021234567"),
        ("+234 802 123 4567", "NG", "+2348021234567"),
        ("2348021234567", "NG", "+2348021234567"),
        ("0621 234 567", "TZ", "+255621234567"),
        ("+255 621 234 567", "TZ", "+255621234567"),
        # An E.164 number is kept whatever the default region says.
        ("+254712345678", "US", "+254712345678"),
        ("+447400123456", "NG", "+447400123456"),
        # Typographic dashes, non-breaking and tab whitespace are formatting too.
        ("0712\u2013345\u00a0678", "KE", "+254712345678"),
        ("\t0712 345 678 ", "KE", "+254712345678"),
        # Italy has no trunk prefix: the leading zero is part of the number.
        ("02 1234 5678", "IT", "+390212345678"),
        # A national number that merely starts like the trunk prefix ("8" in BY) keeps its digit.
        ("801 123 4567", "BY", "+3758011234567"),
        # Like phonenumbers, a trunk prefix stays when what would remain is too short for the region.
        ("0712345", "KE", "+2540712345"),
    ],
)
def test_normalise_number_gives_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_number(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "problem"),
    [
        ("", "KE", "empty"),
        ("   ", "KE", "empty"),
        ("(-.)", "KE", "empty"),
        ("hello", "KE", "only digits"),
        ("0712 345 67x", "KE", "only digits"),
        ("0712345678 ext. 12", "KE", "only digits"),
        ("+254+712345678", "KE", "only digits"),
        ("0712*345#678", "KE", "only digits"),
        ("٠٧١٢٣٤٥٦٧٨", "KE", "only digits"),  # Arabic-Indic digits
        ("+", "KE", "too short"),
        ("+2547123", "KE", "too short"),
        ("1234", "KE", "too short"),  # "+2541234": 7 digits
        ("+2547123456789012", "KE", "too long"),
        ("0712345678901234", "KE", "too long"),
        ("1" * 65, "KE", "too long"),
        (" " * 60 + "0712 345 678", "KE", "too long"),  # bounded before any regular expression runs
        ("+0712345678", "KE", "unknown country calling code"),
        ("+2812345678", "KE", "unknown country calling code"),  # 28x is unassigned
        ("00", "KE", "too short"),
        ("0712345678", "XX", "unknown default region"),
        ("0712345678", "", "unknown default region"),
        ("0712345678", "001", "unknown default region"),  # non-geographic, has no national numbers
    ],
)
def test_normalise_number_refuses_what_is_not_number_shaped(raw: str, region: str, problem: str) -> None:
    with pytest.raises(MalformedNumberError, match=problem):
        normalise_number(raw, region)


def test_malformed_number_error_is_a_value_error() -> None:
    # Callers that only know about ValueError (pydantic validators) still catch it.
    assert issubclass(MalformedNumberError, ValueError)


@pytest.mark.parametrize(
    ("e164", "valid"),
    [
        ("+254712345678", True),  # KE mobile
        ("+254202012345", True),  # KE fixed line (Nairobi)
        ("+12015550123", True),  # US: fixed line or mobile, indistinguishable
        ("+447400123456", True),  # GB mobile
        ("+2348021234567", True),  # NG mobile
        ("+255621234567", True),  # TZ mobile
        ("+254112345678", True),  # KE mobile, newer 01x range
        ("+254912345678", False),  # KE: no such range
        ("+25471234567", False),  # KE mobile one digit short
        ("+448001234567", False),  # GB toll-free: cannot receive an SMS
        ("+447012345678", False),  # GB personal number
        ("+19005550123", False),  # US premium rate
        ("+2540712345678", False),  # parses, but is not canonical: the carrier would get the stray 0
        ("+254 712 345 678", False),  # not canonical either
        ("254712345678", False),  # no "+": not E.164
        ("", False),
        ("+", False),
        ("not a number", False),
        ("+999999999999", False),  # unknown country code
    ],
)
def test_is_valid_number(e164: str, valid: bool) -> None:
    assert is_valid_number(e164) is valid


# --- properties -------------------------------------------------------------------------------

regions = st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS))
# Text that looks like what merchants paste: digits with formatting and prefixes, so that the
# properties reach the national and international paths, not only the letter check.
number_like_text = st.text(alphabet="0123456789 +-().", max_size=24)


@given(raw=st.one_of(st.text(), number_like_text), region=st.one_of(regions, st.text(max_size=4)))
def test_normalise_number_raises_nothing_but_malformed_number_error(raw: str, region: str) -> None:
    with contextlib.suppress(MalformedNumberError):
        normalise_number(raw, region)


@given(raw=st.one_of(st.text(), number_like_text), region=regions)
@example(raw="0712345678", region="KE")
def test_normalise_number_output_is_e164_shaped_and_idempotent(raw: str, region: str) -> None:
    try:
        normalised = normalise_number(raw, region)
    except MalformedNumberError:
        return
    assert E164_SHAPE.fullmatch(normalised)
    # Given an already normalised number, whatever the region, nothing changes.
    assert normalise_number(normalised, region) == normalised
    assert normalise_number(normalised, "US") == normalised


SEPARATORS = ("", "", " ", "-", ".")
COUNTRY_CODE_WITHOUT_PLUS = 4  # index in written_forms()


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A region and a valid mobile or fixed number of it: the region's example number with
    its last four digits redrawn, kept only if phonenumbers still calls it valid."""
    region = draw(st.sampled_from(AGREEMENT_REGIONS))
    number_type = draw(st.sampled_from([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]))
    example_number = phonenumbers.example_number_for_type(region, number_type)
    assert example_number is not None
    e164 = phonenumbers.format_number(example_number, PhoneNumberFormat.E164)
    tail = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    number = phonenumbers.parse(e164[:-4] + tail, None)
    assume(phonenumbers.is_valid_number(number))
    return region, number


def written_forms(number: phonenumbers.PhoneNumber) -> list[str]:
    """How a merchant may write ``number``: E.164, international, national, national digits
    only, and the country code without "+"."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return [
        e164,
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        phonenumbers.national_significant_number(number),
        e164.removeprefix("+"),
    ]


@st.composite
def reformatted(draw: st.DrawFn, text: str) -> str:
    """``text`` with its own formatting removed and random separators between characters."""
    compact = re.sub(r"[^0-9+]", "", text)
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(compact), max_size=len(compact)))
    return "".join(char + separator for char, separator in zip(compact, separators, strict=True))


@given(data=st.data(), region_and_number=valid_numbers(), form=st.integers(min_value=0, max_value=4))
def test_normalise_number_agrees_with_phonenumbers_parse(
    data: st.DataObject, region_and_number: tuple[str, phonenumbers.PhoneNumber], form: int
) -> None:
    # Given a valid number of the region, written one of the ways merchants write numbers,
    region, number = region_and_number
    written = data.draw(reformatted(written_forms(number)[form]))
    # When both the cheap path and the full parser read it,
    expected = phonenumbers.format_number(phonenumbers.parse(written, region), PhoneNumberFormat.E164)
    # Then they agree,
    assert normalise_number(written, region) == expected
    # and, unless the form is ambiguous, it is the number the merchant meant and passes
    # dispatch's full check. (The country code without "+" is ambiguous where national numbers
    # can be as long, e.g. DE "4915123450000": both read it as national, and dispatch fails it.)
    if form != COUNTRY_CODE_WITHOUT_PLUS:
        assert expected == phonenumbers.format_number(number, PhoneNumberFormat.E164)
        assert is_valid_number(expected)


@st.composite
def national_digits(draw: st.DrawFn) -> tuple[str, str]:
    """A region and digits written without "+": random digits behind what makes national
    numbers tricky (nothing, the trunk prefix, the country code, or both), never read as
    international by either side (no "00", nor the region's own international prefix, e.g.
    "0" in CV, which normalise_number deliberately does not know about)."""
    region = draw(regions)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    country_code = str(phonenumbers.country_code_for_region(region))
    trunk = metadata.national_prefix or ""
    lead = draw(st.sampled_from(["", trunk, country_code, country_code + trunk]))
    digits = lead + draw(st.text(alphabet="0123456789", min_size=4, max_size=12))
    assume(not digits.startswith("00"))
    assume(metadata.international_prefix is None or not re.match(metadata.international_prefix, digits))
    return region, digits


@given(region_and_digits=national_digits())
def test_normalise_number_agrees_with_phonenumbers_parse_on_any_national_digits(
    region_and_digits: tuple[str, str],
) -> None:
    # Given any digits, when both the cheap path and the full parser accept them, they read
    # the same number (trunk prefixes, carrier codes, a country code without "+", prefixes
    # that are really part of the number).
    region, digits = region_and_digits
    try:
        parsed = phonenumbers.parse(digits, region)
        normalised = normalise_number(digits, region)
    except (phonenumbers.NumberParseException, MalformedNumberError):
        return
    assert normalised == phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@given(region_and_number=valid_numbers())
def test_normalise_number_reads_00_as_plus(region_and_number: tuple[str, phonenumbers.PhoneNumber]) -> None:
    # "00" is the international prefix of most of the world (not of US, BR, ...): it is read as
    # "+" whatever the default region, since no national number starts with it.
    region, number = region_and_number
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert normalise_number("00" + e164.removeprefix("+"), region) == e164


@given(e164=st.one_of(st.text(), st.from_regex(E164_SHAPE, fullmatch=True)))
def test_is_valid_number_never_raises(e164: str) -> None:
    assert is_valid_number(e164) in (True, False)
