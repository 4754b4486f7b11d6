"""Each recipient's own text (DESIGN §12): the message filled in with its ``vars``, and what
that text costs in SMS parts. Pure: ``sending`` checks every recipient with it before storing
anything, and dispatch renders the same text from the stored values.

The per-recipient ``segments`` here are the seam for a price quote: a quote multiplies each
recipient's parts by its destination's price, so it needs them per recipient, not the largest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lisoloo.errors import InvalidTemplateError
from lisoloo.segments import Encoding, SegmentInfo, count_segments
from lisoloo.templating import Template, TemplateError, parse_template

# As ``models.MAX_MESSAGE_CHARACTERS``: the rendered text obeys the rule the template does.
MAX_RENDERED_CHARACTERS = 1_600


@dataclass(frozen=True, slots=True)
class PersonalText:
    """One recipient's text: the values it uses (only those are stored), the text, its parts."""

    values: Mapping[str, str]
    text: str
    segments: SegmentInfo


@dataclass(frozen=True, slots=True)
class Personalised:
    """Every recipient's text, in request order, and what the reply says of them."""

    texts: tuple[PersonalText, ...]
    template: Template

    @property
    def encoding(self) -> Encoding:
        return "UCS-2" if any(text.segments.encoding == "UCS-2" for text in self.texts) else "GSM-7"

    @property
    def segments(self) -> int:
        return max(text.segments.segments for text in self.texts)

    @property
    def segments_total(self) -> int:
        return sum(self.per_recipient_segments)

    @property
    def per_recipient_segments(self) -> list[int]:
        """Each recipient's parts, in request order: what a quote multiplies its price by."""
        return [text.segments.segments for text in self.texts]

    @property
    def variables(self) -> list[Mapping[str, str]] | None:
        """Per recipient, the values its text uses; None when the message has no placeholders
        (then nothing extra is stored)."""
        return [text.values for text in self.texts] if self.template.names else None


def check_template(message: str) -> Template:
    try:
        return parse_template(message)
    except TemplateError as error:
        raise InvalidTemplateError([{"loc": ["body", "message"], "msg": str(error), "type": "template"}]) from error


def personalise(message: str, values: Sequence[Mapping[str, str]]) -> Personalised:
    """Every recipient's text from ``message`` and its ``values`` (one mapping per recipient,
    empty for a plain number). All problems are reported together, each naming its ``to`` index:
    a value missing, or a text that comes out longer than a message may be."""
    template = check_template(message)
    if not template.names:
        # One text for all: counted once, not once per recipient (10,000 numbers, one count).
        shared = PersonalText(values={}, text=message, segments=count_segments(message))
        return Personalised(texts=(shared,) * len(values), template=template)
    problems: list[dict[str, Any]] = []
    texts: list[PersonalText] = []
    for position, given in enumerate(values):
        missing = template.missing(given)
        if missing:
            names = ", ".join(f"{{{{{name}}}}}" for name in missing)
            problems.append(
                {"loc": ["body", "to", position, "vars"], "msg": f"no value for {names}", "type": "missing_var"}
            )
            continue
        used = {name: given[name] for name in template.used}
        text = template.render(used)
        if len(text) > MAX_RENDERED_CHARACTERS:
            problems.append(
                {
                    "loc": ["body", "to", position, "vars"],
                    "msg": f"the text comes to {len(text)} characters, more than {MAX_RENDERED_CHARACTERS}",
                    "type": "text_too_long",
                }
            )
            continue
        texts.append(PersonalText(values=used, text=text, segments=count_segments(text)))
    if problems:
        raise InvalidTemplateError(problems)
    return Personalised(texts=tuple(texts), template=template)


def render_stored(message: str, values: Mapping[str, str] | None) -> str:
    """A recipient's text at dispatch, from the stored message and values (checked at send)."""
    if not values:
        return message
    return parse_template(message).render(values)
