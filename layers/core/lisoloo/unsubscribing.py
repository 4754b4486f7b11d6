"""The opt-out page's two uses (DESIGN §12): look at a link (GET: never changes anything, as
SMS apps and link scanners fetch it before the recipient taps), and confirm it (POST: the
number joins the sending organization's suppression list, once)."""

from __future__ import annotations

from datetime import datetime

from lisoloo.opt_out_page import Page, PageKind, render
from lisoloo.opting_out import OptOutLink, is_token
from lisoloo.storage import SmsRepository


def view_link(token: str, repository: SmsRepository) -> Page:
    link = _live(token, repository)
    if link is None:
        return render(PageKind.NOT_FOUND)
    kind = PageKind.ALREADY if link.used_at is not None else PageKind.ASK
    return render(kind, _sender(link, repository))


def confirm_link(token: str, repository: SmsRepository, now: datetime) -> Page:
    link = _live(token, repository)
    if link is None:
        return render(PageKind.NOT_FOUND)
    if link.used_at is not None:
        # Read first only to choose the page: ``use`` is what guards a double click.
        return render(PageKind.ALREADY, _sender(link, repository))
    used = repository.opt_outs.use(link, now)
    return render(PageKind.DONE if used else PageKind.ALREADY, _sender(link, repository))


def _live(token: str, repository: SmsRepository) -> OptOutLink | None:
    # A malformed token is never looked up, and gets the unknown one's page.
    return repository.opt_outs.get(token) if is_token(token) else None


def _sender(link: OptOutLink, repository: SmsRepository) -> str | None:
    """The name the recipient knows the texts by: the sender id they came from, else the
    organization's name (its id is never shown)."""
    if link.sender:
        return link.sender
    organization = repository.organizations.get(link.org_id)
    return organization.name if organization is not None else None
