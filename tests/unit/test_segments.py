"""SMS parts and encoding: GSM-7 160/153 septets, UCS-2 70/67 code units, no split characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentInfo, count_segments, is_gsm7

EMOJI = "😀"  # outside the BMP: one surrogate pair, 2 UTF-16 code units
EURO = "€"  # GSM extension table: escape + code, 2 septets
NON_GSM = "ç"  # lower-case c-cedilla is not GSM 03.38 (only "Ç" is)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Empty: one part of nothing (decision documented on count_segments).
        ("", SegmentInfo("GSM-7", 1, 0)),
        # GSM-7 single part up to 160 septets, then 153 per part.
        ("a", SegmentInfo("GSM-7", 1, 1)),
        ("a" * 160, SegmentInfo("GSM-7", 1, 160)),
        ("a" * 161, SegmentInfo("GSM-7", 2, 161)),
        ("a" * 306, SegmentInfo("GSM-7", 2, 306)),
        ("a" * 307, SegmentInfo("GSM-7", 3, 307)),
        ("a" * 1600, SegmentInfo("GSM-7", 11, 1600)),  # the API's longest message
        # Extension characters count 2 septets, for the single-part limit too.
        (EURO * 80, SegmentInfo("GSM-7", 1, 160)),
        ("a" + EURO * 80, SegmentInfo("GSM-7", 2, 161)),
        ("a" * 159 + EURO, SegmentInfo("GSM-7", 2, 161)),
        ("{}[]~|^\\\f" + EURO, SegmentInfo("GSM-7", 1, 20)),
        # An extension character straddling a part boundary starts the next part: 152 + 2 does
        # not fit 153, so 306 septets need 3 parts here where 306 plain septets need 2.
        ("a" * 152 + EURO + "a" * 152, SegmentInfo("GSM-7", 3, 306)),
        ("a" * 151 + EURO + "a" * 153, SegmentInfo("GSM-7", 2, 306)),
        ("a" * 152 + EURO + "a" * 10, SegmentInfo("GSM-7", 2, 164)),
        # UCS-2 single part up to 70 code units, then 67 per part.
        (NON_GSM * 70, SegmentInfo("UCS-2", 1, 70)),
        (NON_GSM * 71, SegmentInfo("UCS-2", 2, 71)),
        (NON_GSM * 134, SegmentInfo("UCS-2", 2, 134)),
        (NON_GSM * 135, SegmentInfo("UCS-2", 3, 135)),
        ("мир" * 10, SegmentInfo("UCS-2", 1, 30)),
        # A surrogate pair counts 2 units and is never split.
        (EMOJI, SegmentInfo("UCS-2", 1, 2)),
        (EMOJI * 35, SegmentInfo("UCS-2", 1, 70)),
        ("a" + EMOJI * 35, SegmentInfo("UCS-2", 2, 71)),
        ("a" * 66 + EMOJI + "a" * 66, SegmentInfo("UCS-2", 3, 134)),
        ("a" * 65 + EMOJI + "a" * 67, SegmentInfo("UCS-2", 2, 134)),
        ("\ud800", SegmentInfo("UCS-2", 1, 1)),  # a lone surrogate (JSON allows one) is one unit
        # One non-GSM character switches the whole text to UCS-2: 160 characters become 3 parts.
        ("a" * 159 + NON_GSM, SegmentInfo("UCS-2", 3, 160)),
        ("a" * 159 + "Ç", SegmentInfo("GSM-7", 1, 160)),
        ("a" * 159 + "é", SegmentInfo("GSM-7", 1, 160)),
        ("a" * 69 + EMOJI, SegmentInfo("UCS-2", 2, 71)),
        # Typographic punctuation pasted from word processors is not GSM.
        ("It\u2019s ready", SegmentInfo("UCS-2", 1, 10)),
        ("Your code is 4821", SegmentInfo("GSM-7", 1, 17)),
    ],
)
def test_count_segments(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("char", "in_gsm"),
    [
        ("é", True),
        ("É", True),
        ("Ç", True),
        ("ç", False),
        ("è", True),
        ("ê", False),
        ("à", True),
        ("á", False),
        ("ñ", True),
        ("Δ", True),
        ("δ", False),
        ("¤", True),
        ("$", True),
        ("£", True),
        ("¥", True),
        ("@", True),
        ("`", False),
        ("\n", True),
        ("\r", True),
        ("\t", False),
        ("\x1b", False),  # the escape itself is not a character of the text
        ("\f", True),
        (EURO, True),
        ("\\", True),
        (EMOJI, False),
    ],
)
def test_is_gsm7(char: str, in_gsm: bool) -> None:
    assert is_gsm7(char) is in_gsm


def test_gsm_tables_have_their_standard_sizes() -> None:
    # 128 code points less the escape; 10 extension characters including form feed.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


# --- properties -------------------------------------------------------------------------------

gsm_chars = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
# Mostly GSM text with the odd character that is not, so both encodings and the switch between
# them are reached; st.characters() alone almost never produces pure-GSM text.
any_char = st.one_of(gsm_chars, gsm_chars, st.characters())
# Runs of repeated characters reach the part boundaries (70, 153, 160, ...) that short random
# text never gets near.
runs = st.lists(st.tuples(any_char, st.integers(min_value=1, max_value=170)), max_size=4)
message_text = st.one_of(
    st.text(alphabet=any_char, max_size=400),
    runs.map(lambda pairs: "".join(char * count for char, count in pairs)),
)


@given(text=message_text)
def test_segments_and_units_are_consistent(text: str) -> None:
    info = count_segments(text)
    assert info.segments >= 1
    single, per_part = (160, 153) if info.encoding == "GSM-7" else (70, 67)
    if info.units <= single:
        assert info.segments == 1
    else:
        # Never fewer parts than the units need; an unsplittable character costs at most one
        # unit of waste per boundary.
        assert info.segments * per_part >= info.units
        assert info.units > (info.segments - 1) * (per_part - 1)


@given(text=message_text, appended=st.one_of(gsm_chars, st.characters()))
def test_appending_a_character_never_reduces_segments(text: str, appended: str) -> None:
    assert count_segments(text + appended).segments >= count_segments(text).segments


@given(text=message_text)
def test_gsm7_exactly_when_every_character_is_in_the_gsm_tables(text: str) -> None:
    expected = all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
    assert (count_segments(text).encoding == "GSM-7") is expected


@given(text=message_text)
def test_units_are_septets_or_utf16_code_units(text: str) -> None:
    info = count_segments(text)
    if info.encoding == "GSM-7":
        assert info.units == len(text) + sum(1 for char in text if char in GSM7_EXTENSION)
    else:
        # surrogatepass: a lone surrogate (JSON allows "\ud800") is still one code unit.
        assert info.units == len(text.encode("utf-16-le", "surrogatepass")) // 2


@given(text=st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC)), min_size=161, max_size=1600))
def test_plain_gsm_text_needs_ceil_of_153(text: str) -> None:
    # Without 2-septet characters nothing can straddle, so the count is plain arithmetic.
    assert count_segments(text).segments == -(-len(text) // 153)
