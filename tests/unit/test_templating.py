"""Personal texts (DESIGN §12): the ``{{name}}`` renderer and each recipient's text and parts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lisoloo.errors import InvalidTemplateError
from lisoloo.models import MAX_VARS_JSON_BYTES, Recipient, SendRequest
from lisoloo.personalising import personalise, render_stored
from lisoloo.templating import TemplateError, parse_template, vars_json

VALUES = {"name": "Amina", "code": "4821", "_x1": "X"}


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("Hi {{name}}, your code is {{code}}", "Hi Amina, your code is 4821"),
        ("no placeholders at all", "no placeholders at all"),
        # Spaces just inside the braces are allowed, as Mustache and Jinja users write them.
        ("{{ name }}", "Amina"),
        ("{{  name}}", "Amina"),
        ("{{_x1}}{{_x1}}", "XX"),
        # Single braces are plain text, next to a placeholder too.
        ("{name} {}", "{name} {}"),
        ("{{{name}}}", "{Amina}"),
        # A name is used as often as the text says.
        ("{{name}} {{name}}", "Amina Amina"),
    ],
)
def test_renders_placeholders_and_nothing_else(text: str, rendered: str) -> None:
    # Given a text whose double braces are all placeholders, When rendered, Then only they change.
    assert parse_template(text).render(VALUES) == rendered


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("Hi {{name}", 3),  # unbalanced: no closing braces
        ("Hi name}}", 7),  # unbalanced: no opening braces
        ("{{a{{name}}}}", 0),  # nested: the outer pair is not a placeholder
        ("{{}}", 0),  # empty
        ("{{ }}", 0),
        ("{{user.name}}", 0),  # no attribute access
        ("{{name|upper}}", 0),  # no filters
        ("{{ name + 1 }}", 0),  # no expressions
        ("{{#each}}x{{/each}}", 0),  # no loops
        ("{{1name}}", 0),  # a name does not start with a digit
        ("{{naïve}}", 0),  # ASCII names only
        ("{{\tname}}", 0),  # spaces only, not tabs or newlines
        ("{{" + "a" * 33 + "}}", 0),  # names are at most 32 characters
        ("ok {{name}} then {{", 17),  # the first stray pair is the one named
    ],
)
def test_refuses_double_braces_that_are_not_placeholders(text: str, position: int) -> None:
    # Given a text with a stray "{{" or "}}", When parsed, Then it is refused, naming where.
    with pytest.raises(TemplateError) as raised:
        parse_template(text)
    assert raised.value.position == position


def test_values_are_not_expanded_again() -> None:
    # Given a value that itself looks like a placeholder, When rendered, Then it is kept as is.
    template = parse_template("Hi {{name}}")
    assert template.render({"name": "{{code}}", "code": "4821"}) == "Hi {{code}}"
    assert render_stored("Hi {{name}}", {"name": "{{name}}"}) == "Hi {{name}}"


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,31}", fullmatch=True)
# Literal text with no double braces (single ones allowed).
LITERALS = st.text(max_size=20).filter(lambda text: "{{" not in text and "}}" not in text)


@given(
    pieces=st.lists(LITERALS, min_size=1, max_size=6),
    names=st.lists(NAMES, max_size=5),
    values=st.dictionaries(NAMES, st.text(max_size=30), max_size=8),
)
def test_render_is_one_substitution_per_placeholder(
    pieces: list[str], names: list[str], values: dict[str, str]
) -> None:
    # Given a text built of literals and placeholders, all with values (values may hold braces)
    names = names[: len(pieces) - 1]
    values = {**{name: f"<{name}>" for name in names}, **values}
    # Braces of a literal must not join a placeholder's: a separator keeps them apart.
    text = "".join(
        piece + (f"\x00{{{{{name}}}}}\x00" if i < len(names) else "")
        for i, (piece, name) in enumerate(zip(pieces, [*names, ""], strict=False))
    )
    try:
        template = parse_template(text)
    except TemplateError:
        return  # a literal ending in "{" next to "{{" makes "{{{": refused or parsed, never wrong
    # When rendered, Then each placeholder became its value, once, and the literals are intact.
    expected = "".join(
        piece + (f"\x00{values[name]}\x00" if i < len(names) else "")
        for i, (piece, name) in enumerate(zip(pieces, [*names, ""], strict=False))
    )
    assert template.names == tuple(names)
    assert template.render(values) == expected


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    # Given any text, When parsed, Then it is a template or a TemplateError (never another
    # error); a template with no placeholders renders to the text itself.
    try:
        template = parse_template(text)
    except TemplateError as error:
        assert text[error.position : error.position + 2] in ("{{", "}}")
        return
    if not template.names:
        assert template.render({}) == text


def test_each_recipient_gets_its_own_text_and_parts() -> None:
    # Given three recipients, one of whose values needs UCS-2 and one a long text
    texts = personalise("Hi {{name}}", [{"name": "Amina"}, {"name": "Zoë ç"}, {"name": "a" * 200}])
    # Then each text is its own, counted on its own: the largest and the sum are reported
    assert [text.text for text in texts.texts] == ["Hi Amina", "Hi Zoë ç", "Hi " + "a" * 200]
    assert [text.segments.segments for text in texts.texts] == [1, 1, 2]
    assert (texts.encoding, texts.segments, texts.segments_total) == ("UCS-2", 2, 4)
    # And only the values a text uses are kept
    assert personalise("Hi {{name}}", [{"name": "A", "unused": "B"}]).variables == [{"name": "A"}]


def test_one_text_for_all_stores_no_variables() -> None:
    texts = personalise("Your code is 4821", [{}, {}, {"ignored": "x"}])
    assert texts.variables is None
    assert (texts.segments, texts.segments_total) == (1, 3)


def test_missing_values_name_every_recipient_index() -> None:
    # Given recipients 1 and 2 without a value the text uses
    with pytest.raises(InvalidTemplateError) as raised:
        personalise("Hi {{name}}, {{code}}", [{"name": "A", "code": "1"}, {"name": "B"}, {}])
    # Then one 422 names both, with what each lacks
    assert raised.value.detail == [
        {"loc": ["body", "to", 1, "vars"], "msg": "no value for {{code}}", "type": "missing_var"},
        {"loc": ["body", "to", 2, "vars"], "msg": "no value for {{name}}, {{code}}", "type": "missing_var"},
    ]


def test_a_rendered_text_past_the_message_limit_is_refused() -> None:
    values = [{"a": "x" * 160}] * 1
    with pytest.raises(InvalidTemplateError) as raised:
        personalise("{{a}}" * 11, values)
    assert raised.value.detail[0]["type"] == "text_too_long"


def test_a_stray_brace_in_the_message_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidTemplateError) as raised:
        personalise("Hi {{name}", [{"name": "A"}])
    assert raised.value.detail[0]["loc"] == ["body", "message"]


@pytest.mark.parametrize(
    "values",
    [
        {f"v{i}": "x" for i in range(11)},  # more than 10 variables
        {"name": "x" * 161},  # a value longer than 160 characters
        {"bad-name": "x"},  # a name that is not an identifier
        {"name": 5},  # values are strings
        {"opt_out_url": "https://evil.example"},  # Lisoloo's own placeholder
    ],
)
def test_variables_past_their_limits_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Recipient.model_validate({"to": "+254712345678", "vars": values})


def test_the_byte_budget_counts_json_escapes_and_multibyte_characters() -> None:
    # Given ten values of 160 four-byte characters (6,400 bytes, more than the budget)
    heavy = {f"v{i}": "😀" * 160 for i in range(10)}
    assert len(vars_json(heavy).encode()) > MAX_VARS_JSON_BYTES
    # Then the recipient is refused; the largest allowed fits the budget
    with pytest.raises(ValidationError):
        Recipient.model_validate({"to": "+254712345678", "vars": heavy})
    fitting = {f"v{i}": "😀" * 70 for i in range(10)}
    assert len(vars_json(fitting).encode()) <= MAX_VARS_JSON_BYTES
    Recipient.model_validate({"to": "+254712345678", "vars": fitting})


def test_to_mixes_numbers_and_objects() -> None:
    request = SendRequest.model_validate(
        {"to": ["+254712345678", {"to": "+254733000001", "vars": {"name": "Amina"}}], "message": "Hi {{name}}"}
    )
    assert isinstance(request.to[1], Recipient)
    assert json.loads(request.model_dump_json())["to"][1] == {"to": "+254733000001", "vars": {"name": "Amina"}}
