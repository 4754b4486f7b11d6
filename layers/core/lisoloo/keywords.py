"""Reading a reply as a consent keyword (DESIGN §9): pure, no I/O.

A reply is a keyword when, once read loosely, it *is* the word: "stop", " Stop! ", "S T O P",
STOP typed in full-width letters or with Cyrillic look-alikes all read STOP; "stop sending me
these" does not (as carriers and Twilio read them: a sentence that mentions a word is a
sentence, and a merchant sees it as an ordinary reply). Loosely means: Unicode compatibility
forms folded (NFKC), case folded, the common Cyrillic and Greek capitals that look like Latin
ones read as those, and everything but letters and digits (spaces, punctuation, emoji) dropped.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "STOP"
    START = "START"
    HELP = "HELP"


STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
START_WORDS = ("START", "UNSTOP")
HELP_WORDS = ("HELP",)
# An organization's own word: what ``lisoloo-admin set-keywords`` accepts, once read loosely.
MAX_WORD_LENGTH = 20

# Letters of other scripts drawn like Latin capitals (Unicode confusables, the ones a phone
# keyboard offers): a reply typed on a Cyrillic or Greek layout still reads.
_LOOK_ALIKES = str.maketrans(
    # Fifteen Cyrillic capitals, then fourteen Greek ones, escaped: they are meant to be
    # indistinguishable from the Latin letters on the line below them.
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0406\u0408\u0405"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "ABEKMHOPCTYXIJSABEZHIKMNOPTYX",
)


def loose(text: str) -> str:
    """``text`` as keywords are compared: see the module docstring."""
    folded = unicodedata.normalize("NFKC", text).upper().translate(_LOOK_ALIKES)
    return "".join(character for character in folded if unicodedata.category(character)[0] in "LN")


@dataclass(frozen=True, slots=True)
class OrganizationWords:
    """An organization's own keywords (e.g. Swahili ACHA / ANZA), stored already read loosely."""

    stop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    help: tuple[str, ...] = ()

    @classmethod
    def of(cls, stop: Iterable[str] = (), start: Iterable[str] = (), help: Iterable[str] = ()) -> OrganizationWords:
        return cls(
            stop=tuple(dict.fromkeys(loose(word) for word in stop)),
            start=tuple(dict.fromkeys(loose(word) for word in start)),
            help=tuple(dict.fromkeys(loose(word) for word in help)),
        )


def classify(text: str, words: OrganizationWords | None = None) -> Keyword | None:
    """The keyword ``text`` is, or None for an ordinary reply."""
    read = loose(text)
    if not read:
        return None
    words = words or OrganizationWords()
    if read in STOP_WORDS or read in words.stop:
        return Keyword.STOP
    if read in START_WORDS or read in words.start:
        return Keyword.START
    if read in HELP_WORDS or read in words.help:
        return Keyword.HELP
    return None


def check_word(word: str) -> str:
    """An organization's own keyword as stored; ValueError for one that cannot be told apart."""
    read = loose(word)
    if not read or len(read) > MAX_WORD_LENGTH:
        raise ValueError(f"a keyword is 1-{MAX_WORD_LENGTH} letters or digits: {word!r}")
    return read
