"""The SMS table (DESIGN §4, §7): one module per aggregate, behind one facade.

``keys`` builds every key (nothing else does); ``table`` is the only code that calls
DynamoDB, with the one retry loop and the one translation of its errors. Each aggregate
module owns its items' layout and its conditional writes, every condition commented with
what it protects. Use cases reach them through :class:`SmsRepository`:
``repository.messages.get(...)``, ``repository.recipients.claim(...)``.
"""

from __future__ import annotations

from typing import Any

from lisoloo.storage.accounts import Accounts
from lisoloo.storage.analytics import DeliveryAnalytics
from lisoloo.storage.carrier_refs import CarrierRefs
from lisoloo.storage.carriers import Carriers
from lisoloo.storage.deliveries import DeliveryAttempts
from lisoloo.storage.due import DueIndex
from lisoloo.storage.events import EventLog
from lisoloo.storage.exports import Exports
from lisoloo.storage.inbound import Inbound, stored_inbound
from lisoloo.storage.inbound_numbers import InboundNumbers
from lisoloo.storage.message_index import MessageIndex
from lisoloo.storage.messages import Messages, message_change
from lisoloo.storage.opt_outs import OptOuts, used_link
from lisoloo.storage.organizations import Organizations
from lisoloo.storage.prices import Prices
from lisoloo.storage.recipients import Recipients
from lisoloo.storage.route_quality import RouteQuality
from lisoloo.storage.routes import Routes
from lisoloo.storage.schedules import Schedules
from lisoloo.storage.suppressions import Suppressions
from lisoloo.storage.table import Table

__all__ = ["SmsRepository", "message_change", "stored_inbound", "used_link"]


class SmsRepository:
    """All reads and writes of the SMS table, by aggregate."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)
        self.organizations = Organizations(self.table)
        self.carriers = Carriers(self.table)
        self.messages = Messages(self.table)
        self.recipients = Recipients(self.table)
        self.schedules = Schedules(self.table)
        self.due = DueIndex(self.table)
        self.carrier_refs = CarrierRefs(self.table)
        self.suppressions = Suppressions(self.table)
        self.inbound = Inbound(self.table)
        self.inbound_numbers = InboundNumbers(self.table)
        self.message_index = MessageIndex(self.table)
        self.events = EventLog(self.table)
        self.delivery_attempts = DeliveryAttempts(self.table)
        self.analytics = DeliveryAnalytics(self.table)
        self.exports = Exports(self.table)
        self.routes = Routes(self.table)
        self.prices = Prices(self.table)
        self.accounts = Accounts(self.table)
        self.route_quality = RouteQuality(self.table)
        self.opt_outs = OptOuts(self.table)

    @property
    def table_name(self) -> str:
        return self.table.name

    @property
    def client(self) -> Any:
        return self.table.client
