"""Consent keywords (DESIGN §9): a reply read loosely is a keyword only when it is the word."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.keywords import STOP_WORDS, Keyword, OrganizationWords, check_word, classify, loose

SWAHILI = OrganizationWords.of(stop=["acha"], start=["Anza"], help=["msaada"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.STOP),
        ("stop", Keyword.STOP),
        ("  Stop  ", Keyword.STOP),
        ("S T O P", Keyword.STOP),
        ("stop!", Keyword.STOP),
        ("STOP.", Keyword.STOP),
        ("\tstop\n", Keyword.STOP),
        ("\uff33\uff34\uff2f\uff30", Keyword.STOP),  # full-width letters
        ("S\u0422\u041e\u0420", Keyword.STOP),  # Cyrillic Te, O, Er
        ("\u03a3TOP", None),  # Greek Sigma is not drawn like S
        ("StopAll", Keyword.STOP),
        ("unsubscribe", Keyword.STOP),
        ("Cancel", Keyword.STOP),
        ("end", Keyword.STOP),
        ("QUIT", Keyword.STOP),
        ("start", Keyword.START),
        ("UnStop", Keyword.START),
        ("help", Keyword.HELP),
        ("HELP?", Keyword.HELP),
        ("stop sending me these", None),
        ("please stop", None),
        ("stopped", None),
        ("", None),
        ("!!!", None),
        ("Thanks, see you Friday", None),
        ("acha", None),  # another organization's word is an ordinary reply
    ],
)
def test_the_standard_words(text: str, expected: Keyword | None) -> None:
    assert classify(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ACHA", Keyword.STOP), (" acha! ", Keyword.STOP), ("anza", Keyword.START), ("Msaada", Keyword.HELP)],
)
def test_an_organizations_own_words(text: str, expected: Keyword) -> None:
    assert classify(text, SWAHILI) is expected
    assert classify("STOP", SWAHILI) is Keyword.STOP  # its own words add to the standard ones


def test_own_words_are_checked_and_stored_read_loosely() -> None:
    assert check_word(" Arrêt ") == "ARRÊT"
    assert classify("arrêt", OrganizationWords.of(stop=["Arrêt"])) is Keyword.STOP
    for bad in ["", "  ", "!!", "x" * 21]:
        with pytest.raises(ValueError, match="keyword"):
            check_word(bad)


@given(st.sampled_from(STOP_WORDS), st.lists(st.sampled_from([" ", ".", "!", "\t"]), max_size=4), st.booleans())
def test_stop_words_survive_case_spacing_and_punctuation(word: str, noise: list[str], lower: bool) -> None:
    text = "".join(noise) + (word.lower() if lower else word) + "".join(reversed(noise))
    assert classify(text) is Keyword.STOP


@given(st.text(max_size=40))
def test_reading_loosely_never_fails_and_is_stable(text: str) -> None:
    once = loose(text)
    assert loose(once) == once
    classify(text)
