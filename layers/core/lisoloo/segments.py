"""How many SMS parts a text costs, and in which encoding (DESIGN §2, ``message``).

A text that fits the GSM 03.38 alphabet goes as GSM-7 (160 septets in one SMS, 153 per
part once it needs several, because the concatenation header takes the rest); anything
else goes as UCS-2 (70 UTF-16 code units, 67 per part). A character is never split
across parts: an extension character (escape + code, 2 septets) or a surrogate pair
(an emoji, 2 code units) that would straddle a boundary starts the next part instead,
as handsets and SMSCs split them, so the count is what the carrier bills.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

# 3GPP TS 23.038 §6.2.1, the default alphabet, in code order (0x00..0x7F) except 0x1B,
# which is the escape into the extension table rather than a character. Note 0x09 is
# "Ç" (capital): "ç" is not GSM, so a text holding it goes UCS-2.
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"  # 0x1B (escape) sits between Ξ and Æ
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# §6.2.1.1, the extension table: each costs the escape septet plus its own.
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_SEPTETS: Final = 160
GSM7_PART_SEPTETS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_PART_UNITS: Final = 67


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What a text costs: its encoding, how many SMS parts, and its length in that
    encoding's units (septets for GSM-7, UTF-16 code units for UCS-2)."""

    encoding: Encoding
    segments: int
    units: int


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM 03.38 basic or extension table."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _gsm7_septets(char: str) -> int:
    return 2 if char in GSM7_EXTENSION else 1


def _utf16_units(char: str) -> int:
    # Outside the Basic Multilingual Plane (emoji, ...) a code point is a surrogate pair.
    return 2 if ord(char) > 0xFFFF else 1


def _parts(unit_costs: Iterable[int], per_part: int) -> int:
    """Parts needed when each character goes whole into a part of ``per_part`` units."""
    parts, used = 1, 0
    for cost in unit_costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def count_segments(text: str) -> SegmentInfo:
    """Encoding, parts and units of ``text``.

    The empty text is one GSM-7 part of 0 septets rather than an error: an empty SMS
    still takes one PDU, and the 1..1,600-character rule belongs to request validation,
    not to counting (this keeps the function total and monotone from ``""``).
    """
    if is_gsm7(text):
        encoding: Encoding = "GSM-7"
        costs = [_gsm7_septets(char) for char in text]
        single, per_part = GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS
    else:
        encoding = "UCS-2"
        costs = [_utf16_units(char) for char in text]
        single, per_part = UCS2_SINGLE_UNITS, UCS2_PART_UNITS
    units = sum(costs)
    segments = 1 if units <= single else _parts(costs, per_part)
    return SegmentInfo(encoding=encoding, segments=segments, units=units)
