"""The opt-out page (DESIGN §12), rendered: plain HTML that a basic phone browser reads, one
form that works without JavaScript, no external assets. Pure: the handler sends its bytes.

What it shows is only what the link's holder already knows: the sender's name (the sender id
the text came from, or the organization's name); never the number, nor anything of another
organization. An unknown link and a malformed one get the very same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from html import escape
from http import HTTPStatus
from typing import Final


class PageKind(StrEnum):
    ASK = "ask"  # GET of a live link: confirm with a button (a GET never opts out: prefetchers)
    DONE = "done"  # POST: opted out just now
    ALREADY = "already"  # a used link, on GET or POST
    NOT_FOUND = "not_found"  # unknown or malformed token


HEADERS: Final[dict[str, str]] = {
    "Content-Type": "text/html; charset=utf-8",
    # Nothing loads but the page itself; its only style is inline; no page may frame it (a
    # framed button could be clicked for the recipient); a used link is never served from cache.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    # The token is in the path: it must not travel on to anywhere else.
    "Referrer-Policy": "no-referrer",
}

_STYLE: Final = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:1.5rem 1rem;"
    "color:#1b1b1b;background:#fff;line-height:1.4}main{max-width:30rem;margin:0 auto}"
    "h1{font-size:1.35rem;margin:0 0 .75rem}p{margin:0 0 1rem}"
    "button{font:inherit;font-size:1.1rem;padding:.8rem 1.2rem;width:100%;border:0;border-radius:.4rem;"
    "background:#b3261e;color:#fff}small{color:#555}"
)


@dataclass(frozen=True, slots=True)
class Page:
    status: HTTPStatus
    html: str


def render(kind: PageKind, sender: str | None = None) -> Page:
    """The page for ``kind``; ``sender`` is the name the recipient knows the texts by."""
    name = escape(sender) if sender else "this sender"
    if kind is PageKind.ASK:
        return Page(
            HTTPStatus.OK,
            _document(
                "Stop these messages?",
                f"<h1>Stop messages from {name}?</h1>"
                f"<p>You will get no more text messages from {name}.</p>"
                # No action: the form posts to this page's own address, the link itself.
                '<form method="post"><button type="submit">Yes, stop messages</button></form>',
            ),
        )
    if kind is PageKind.DONE:
        return Page(
            HTTPStatus.OK,
            _document(
                "Done",
                f"<h1>Done</h1><p>You will get no more messages from {name}.</p>"
                "<p><small>You can close this page.</small></p>",
            ),
        )
    if kind is PageKind.ALREADY:
        return Page(
            HTTPStatus.OK,
            _document(
                "Already done",
                f"<h1>Already done</h1><p>This link has been used: you will get no more messages from {name}.</p>",
            ),
        )
    return Page(
        HTTPStatus.NOT_FOUND,
        _document("Link not found", "<h1>Link not found</h1><p>This link is not valid, or it has expired.</p>"),
    )


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
