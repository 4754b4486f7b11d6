"""Personal texts (DESIGN §12): ``{{name}}`` placeholders filled from a recipient's ``vars``.

Substitution only: no expressions, no attribute access, no filters, no loops. The rules,
chosen to be strict and easy to state in the API reference:

* a placeholder is ``{{`` + a name + ``}}``; a name is an ASCII letter or ``_`` then up to 31
  letters, digits or ``_``; spaces just inside the braces are allowed (``{{ name }}`` is
  ``{{name}}``), as Mustache and Jinja users write it;
* any other ``{{`` or ``}}`` in a text (unbalanced ``{{name}``, nested ``{{a{{b}}}}``, an empty
  ``{{}}``, a name with a dot or a dash) is refused, never sent as is: a merchant's typo must not
  reach ten thousand handsets as ``Hi {{nmae}``. A single ``{`` or ``}`` is plain text;
* values are inserted once, as they are: a value holding ``{{code}}`` stays ``{{code}}``;
* a name the text uses with no value for a recipient is that recipient's error.

Pure: no I/O, so ``sending`` checks every recipient before anything is stored, and dispatch
renders the same text again from the stored values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

MAX_NAME_LENGTH: Final = 32
_NAME = rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_NAME_LENGTH - 1}}}"
NAME: Final = re.compile(_NAME)
_PLACEHOLDER: Final = re.compile(r"\{\{ *(" + _NAME + r") *\}\}")
_BRACES: Final = re.compile(r"\{\{|\}\}")


class TemplateError(ValueError):
    """A text whose double braces are not all placeholders; ``position`` is the first stray one."""

    def __init__(self, position: int) -> None:
        super().__init__(f"'{{{{' or '}}}}' at character {position} is not a placeholder like {{{{name}}}}")
        self.position = position


@dataclass(frozen=True, slots=True)
class Template:
    """A checked text: its literal pieces and the names between them (``len(pieces) ==
    len(names) + 1``)."""

    pieces: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def used(self) -> frozenset[str]:
        return frozenset(self.names)

    def missing(self, values: Mapping[str, str]) -> list[str]:
        """The names this text uses that ``values`` lacks, in first-use order."""
        return list(dict.fromkeys(name for name in self.names if name not in values))

    def render(self, values: Mapping[str, str]) -> str:
        """The text with each placeholder replaced by its value (one pass: values are never
        read as templates). Raises KeyError for a missing name (check ``missing`` first)."""
        out = [self.pieces[0]]
        for name, piece in zip(self.names, self.pieces[1:], strict=True):
            out.append(values[name])
            out.append(piece)
        return "".join(out)


def parse_template(text: str) -> Template:
    """The placeholders of ``text``; TemplateError if any ``{{`` or ``}}`` is not one."""
    pieces: list[str] = []
    names: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = text[last : match.start()]
        _check_literal(literal, last)
        pieces.append(literal)
        names.append(match.group(1))
        last = match.end()
    _check_literal(text[last:], last)
    pieces.append(text[last:])
    return Template(pieces=tuple(pieces), names=tuple(names))


def _check_literal(literal: str, offset: int) -> None:
    stray = _BRACES.search(literal)
    if stray is not None:
        raise TemplateError(offset + stray.start())


def vars_json(values: Mapping[str, str]) -> str:
    """A recipient's variables as a chunk item stores them, and as their byte budget is measured."""
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))
