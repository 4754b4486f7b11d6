"""``GET /inbound``: an organization's inbound messages, newest first."""

from __future__ import annotations

from lisoloo.storage import SmsRepository
from lisoloo.two_way_models import InboundPage, inbound_view


def list_inbound(repository: SmsRepository, org_id: str, limit: int, cursor: str | None) -> InboundPage:
    messages, more = repository.inbound.page(org_id, limit, cursor)
    next_cursor = messages[-1].inbound_id if more and messages else None
    return InboundPage(inbound=[inbound_view(message) for message in messages], cursor=next_cursor)
