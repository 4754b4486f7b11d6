"""Carriers: the receipt-token hash the receipts endpoint checks (``CARRIER#{name}``), and
their configuration as the operator manages it (one ``CARRIERS`` partition: listed in one
Query, read one item per carrier by dispatch)."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from lisoloo.organization_entities import CarrierRecord
from lisoloo.routing import CarrierConfig, CarrierType
from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Item, Table, from_item, timestamp

_CONFIG_FIELDS = ("type", "url", "username", "smsc", "auth_header", "mapping", "tps", "enabled")


def config_from_item(item: Item) -> CarrierConfig:
    values = from_item(item)
    return CarrierConfig(
        name=keys.carrier_of_config_sk(values["SK"]),
        type=CarrierType(values["type"]),
        url=values.get("url", ""),
        username=values.get("username", ""),
        smsc=values.get("smsc", ""),
        auth_header=values.get("auth_header", "Authorization"),
        mapping=values.get("mapping", ""),
        tps=values.get("tps"),
        enabled=values.get("enabled", True),
        demoted=values.get("demoted", False),
        demotion_reason=values.get("demotion_reason", ""),
    )


class CarrierExistsError(Exception):
    """``carriers add`` for a name already configured."""


class Carriers:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- receipt tokens ---------------------------------------------------------------------

    def store(self, carrier: CarrierRecord, now: datetime) -> None:
        """Sets (or replaces: a new token retires the previous one) a carrier's token hash."""
        self.table.put(
            {
                "PK": keys.carrier_pk(carrier.name),
                "SK": keys.META,
                "token_hash": carrier.token_hash,
                "updated_at": timestamp(now),
            }
        )

    def find(self, name: str) -> CarrierRecord | None:
        item = self.table.get(keys.carrier_pk(name), keys.META)
        if item is None:
            return None
        return CarrierRecord(name=name, token_hash=item["token_hash"]["S"])

    # --- configuration ----------------------------------------------------------------------

    def add(self, config: CarrierConfig, now: datetime, *, replace: bool = False) -> None:
        """A new carrier; ``replace`` overwrites one of that name (the local stack's sandboxes,
        whose URLs change at every start)."""
        values: dict[str, Any] = {name: getattr(config, name) for name in _CONFIG_FIELDS}
        values["type"] = config.type.value
        try:
            self.table.put(
                {
                    "PK": keys.CARRIERS_PK,
                    "SK": keys.carrier_config_sk(config.name),
                    **values,
                    "updated_at": timestamp(now),
                },
                # One name, one carrier: adding again must not silently replace its settings.
                None if replace else "attribute_not_exists(PK)",
            )
        except ConditionFailed:
            raise CarrierExistsError(config.name) from None

    def config(self, name: str) -> CarrierConfig | None:
        item = self.table.get(keys.CARRIERS_PK, keys.carrier_config_sk(name))
        return config_from_item(item) if item else None

    def configs(self) -> list[CarrierConfig]:
        items = self.table.query_between(keys.CARRIERS_PK, keys.carrier_config_sk(""), keys.carrier_config_sk("~"))
        return [config_from_item(item) for item in items]

    def set_enabled(self, name: str, enabled: bool, now: datetime) -> bool:
        """False when no such carrier is configured."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.CARRIERS_PK,
                keys.carrier_config_sk(name),
                "SET enabled = :enabled, updated_at = :now",
                # Only a configured carrier: never create a half item from a typo.
                "attribute_exists(PK)",
                values={":enabled": enabled, ":now": timestamp(now)},
            )
            return True
        return False

    def set_demoted(self, name: str, demoted: bool, reason: str, now: datetime) -> bool:
        """Demote a carrier or restore it; True only for the write that changed it (two
        sweeps judging at once log and count the change once)."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.CARRIERS_PK,
                keys.carrier_config_sk(name),
                "SET demoted = :demoted, demotion_reason = :reason, demoted_changed_at = :now",
                # Only a configured carrier, and only a change.
                "attribute_exists(PK) AND "
                + ("(attribute_not_exists(demoted) OR demoted = :no)" if demoted else "demoted = :yes"),
                values={
                    ":demoted": demoted,
                    ":reason": reason,
                    ":now": timestamp(now),
                    **({":no": False} if demoted else {":yes": True}),
                },
            )
            return True
        return False
