"""Opt-out links' pure parts (DESIGN §12): the token, the link, the page, the stream's reading of
a used link and the event it fires."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from http import HTTPStatus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lisoloo.opt_out_page import HEADERS, PageKind, render
from lisoloo.opting_out import (
    OPT_OUT_VAR,
    TOKEN_LENGTH,
    OptOutLink,
    is_token,
    new_token,
    opt_out_url,
    token_of,
    with_opt_out_links,
)
from lisoloo.segments import count_segments
from lisoloo.storage.opt_outs import used_link
from lisoloo.webhooks.opt_out_events import opt_out_event

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_tokens_are_12_gsm7_characters_and_never_repeat() -> None:
    # Given a thousand fresh tokens
    tokens = [new_token() for _ in range(1_000)]
    # Then each is 12 URL-safe characters a GSM-7 text carries as is, and no two are alike
    assert all(len(token) == TOKEN_LENGTH and is_token(token) for token in tokens)
    assert all(count_segments(f"Stop: https://lsl.example/u/{token}").encoding == "GSM-7" for token in tokens)
    assert len(set(tokens)) == len(tokens)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("Xq3v9TbL0aZk", True),
        ("Xq3v9TbL0aZ-", True),
        ("Xq3v9TbL0aZ", False),  # 11
        ("Xq3v9TbL0aZkk", False),  # 13
        ("Xq3v9TbL0a/k", False),
        ("Xq3v9TbL0a+k", False),
        ("Xq3v9TbL0aZ\n", False),
        ("", False),
    ],
)
def test_what_is_a_token(value: str, valid: bool) -> None:
    assert is_token(value) is valid


def test_each_recipient_gets_its_own_link_beside_its_values() -> None:
    # Given two recipients' values
    values = [{"name": "Amina"}, {}]
    # When links are added under a base URL with a trailing slash
    linked = with_opt_out_links(values, "https://lsl.example/")
    # Then each has a link of its own, once slashed, whose token reads back; the input is unchanged
    assert [entry["name"] for entry in linked[:1]] == ["Amina"]
    urls = [entry[OPT_OUT_VAR] for entry in linked]
    assert all(url.startswith("https://lsl.example/u/") for url in urls)
    assert len(set(urls)) == 2
    assert [token_of(entry) for entry in linked] == [url.rsplit("/", 1)[1] for url in urls]
    assert values == [{"name": "Amina"}, {}]
    assert token_of({"name": "x"}) is None and token_of(None) is None
    assert opt_out_url("https://a.example", "Xq3v9TbL0aZk") == "https://a.example/u/Xq3v9TbL0aZk"


class _Page(HTMLParser):
    """What a browser would see: the text, the forms, any element a page with no assets must not have."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "form":
            self.forms.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.mark.parametrize(
    ("kind", "status", "has_form"),
    [
        (PageKind.ASK, HTTPStatus.OK, True),
        (PageKind.DONE, HTTPStatus.OK, False),
        (PageKind.ALREADY, HTTPStatus.OK, False),
        (PageKind.NOT_FOUND, HTTPStatus.NOT_FOUND, False),
    ],
)
def test_every_page_is_small_plain_and_self_contained(kind: PageKind, status: HTTPStatus, has_form: bool) -> None:
    page = render(kind, "SHOP")
    assert page.status is status
    html = parsed(page.html)
    # A phone-sized viewport, no script, no external asset of any kind
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.html
    assert not {"script", "img", "link", "iframe"} & set(html.tags)
    assert "http" not in page.html
    # Only the confirm page has a form: a POST to its own address, with one button
    assert html.forms == ([{"method": "post"}] if has_form else [])
    assert ("button" in html.tags) is has_form
    assert len(page.html.encode()) < 2_000


def test_the_sender_is_escaped_and_the_404_names_no_one() -> None:
    # Given a sender name with markup in it
    page = render(PageKind.ASK, '<script>alert("x")</script>&')
    # Then it is shown as text, never as markup
    assert "<script>" not in page.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page.html
    # And a page without a sender says so plainly; the 404 is the same whatever is asked
    assert "this sender" in render(PageKind.DONE).html
    assert render(PageKind.NOT_FOUND, "SHOP") == render(PageKind.NOT_FOUND)


def test_the_headers_lock_the_page_down() -> None:
    assert HEADERS["Content-Type"] == "text/html; charset=utf-8"
    assert HEADERS["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert (HEADERS["X-Frame-Options"], HEADERS["Cache-Control"], HEADERS["Referrer-Policy"]) == (
        "DENY",
        "no-store",
        "no-referrer",
    )


def _image(used_at: str | None = None) -> dict[str, dict[str, object]]:
    image: dict[str, dict[str, object]] = {
        "PK": {"S": "OPTOUT#Xq3v9TbL0aZk"},
        "SK": {"S": "LINK"},
        "kind": {"S": "optout"},
        "org_id": {"S": "org_0123456789abcdef"},
        "number": {"S": "+254712345678"},
        "message_id": {"S": "6b161f817be8811493c88677"},
        "sender": {"NULL": True},
        "expires_at": {"N": "1800000000"},
    }
    if used_at is not None:
        image["used_at"] = {"S": used_at}
    return image


@pytest.mark.parametrize(
    ("event_name", "old", "new", "fires"),
    [
        ("MODIFY", _image(), _image("2026-12-07T03:00:00.000Z"), True),  # confirmed just now
        ("INSERT", None, _image(), False),  # dispatch wrote it
        ("MODIFY", _image(), _image(), False),  # a recurring occurrence re-linked it
        ("MODIFY", _image("2026-12-07T03:00:00.000Z"), _image("2026-12-07T03:00:00.000Z"), False),  # re-linked, used
        ("REMOVE", _image(), None, False),  # TTL
    ],
)
def test_only_the_change_that_uses_a_link_fires(
    event_name: str, old: dict[str, object] | None, new: dict[str, object] | None, fires: bool
) -> None:
    record = {"eventName": event_name, "dynamodb": {"OldImage": old, "NewImage": new}}
    link = used_link(record)
    assert (link is not None) is fires
    if link is not None:
        assert (link.token, link.number, link.sender) == ("Xq3v9TbL0aZk", "+254712345678", None)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=12, max_size=12))
def test_the_event_id_is_stable_lowercase_and_never_holds_the_token(token: str) -> None:
    link = OptOutLink(token, "org_0123456789abcdef", "+254712345678", "6b161f817be8811493c88677", None, NOW)
    event = opt_out_event(link)
    assert event == opt_out_event(link)
    assert event.event_id.startswith("evt_6b161f817be8811493c88677_opted_out_")
    assert event.event_id == event.event_id.lower() and len(event.event_id) <= 60
    assert token not in event.event_id
    assert event.body["data"] == {
        "from": "+254712345678",
        "source": "link",
        "message_id": "6b161f817be8811493c88677",
        "opted_out_at": "2026-12-07T03:00:00Z",
    }
