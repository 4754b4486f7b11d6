"""``lisoloo-admin carriers|routes|messages show``: carriers as data, routes, and where each
recipient of a message went (DESIGN §8). Carriers are operator data: none of this is in the
merchant API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from lisoloo.route_quality import route_stats
from lisoloo.routing import (
    CarrierConfig,
    CarrierType,
    Route,
    check_route,
    is_carrier_name,
    match_kind,
    parse_target,
)
from lisoloo.storage import SmsRepository
from lisoloo.storage.carriers import CarrierExistsError
from lisoloo_admin.provisioning import register_carrier
from lisoloo_admin.target import AdminError

# How long a change takes to reach every dispatcher (CARRIER_CONFIG_CACHE_SECONDS' default).
CHANGE_DELAY_NOTE = "dispatchers pick this up within 30 seconds"


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _carrier_row(config: CarrierConfig) -> dict[str, Any]:
    row = asdict(config)
    row["type"] = config.type.value
    return row


def _share(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _ms(value: float | None) -> int | None:
    return round(value) if value is not None else None


class RoutingAdmin:
    def __init__(self, repository: SmsRepository, now: datetime) -> None:
        self.repository = repository
        self.now = now

    # --- carriers -------------------------------------------------------------------------------

    def add_carrier(self, config: CarrierConfig) -> dict[str, Any]:
        """A new carrier and its receipt token (shown once: it goes in the carrier's secrets
        document as ``receipt_token``, or, for the sandbox, into the sandbox itself)."""
        if not is_carrier_name(config.name):
            raise AdminError("a carrier name is lowercase letters, digits, - and _ (up to 32), starting with a letter")
        if config.tps is not None and config.tps <= 0:
            raise AdminError("--tps must be above 0")
        try:
            self.repository.carriers.add(config, self.now)
        except CarrierExistsError:
            raise AdminError(f"carrier {config.name} exists already (disable it, or pick another name)") from None
        token = register_carrier(self.repository, config.name)
        return {**_carrier_row(config), "receipt_token": token, "note": CHANGE_DELAY_NOTE}

    def list_carriers(self) -> list[dict[str, Any]]:
        return [_carrier_row(config) for config in self.repository.carriers.configs()]

    def set_carrier_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        if not self.repository.carriers.set_enabled(name, enabled, self.now):
            raise AdminError(f"no carrier {name} (lisoloo-admin carriers list)")
        return {"carrier": name, "enabled": enabled, "note": CHANGE_DELAY_NOTE}

    # --- routes ---------------------------------------------------------------------------------

    def set_route(self, match: str, targets: list[str], org_id: str | None) -> dict[str, Any]:
        match = match.upper() if len(match) == 2 else match
        try:
            route = Route(match, tuple(parse_target(text) for text in targets), org_id)
            check_route(route)
        except ValueError as error:
            raise AdminError(str(error)) from None
        if org_id is not None and self.repository.organizations.get(org_id) is None:
            raise AdminError(f"no organization {org_id}")
        known = {config.name for config in self.repository.carriers.configs()}
        unknown = [name for name in route.carriers if name not in known]
        self.repository.routes.put(route, self.now)
        shown = self._route_row(route)
        if unknown:
            # Allowed (a carrier of the template's settings, or one added next), but worth a word.
            shown["warning"] = f"not configured with `carriers add`: {', '.join(unknown)}"
        return {**shown, "note": CHANGE_DELAY_NOTE}

    def list_routes(self, org_id: str | None) -> list[dict[str, Any]]:
        routes = self.repository.routes.all()
        if org_id is not None:
            routes = [route for route in routes if route.org_id in (None, org_id)]
        return [self._route_row(route) for route in routes]

    def delete_route(self, match: str, org_id: str | None) -> dict[str, Any]:
        match = match.upper() if len(match) == 2 else match
        if match_kind(match) is None:
            raise AdminError(f"{match!r} is not an E.164 prefix (+2547), an ISO country (KE) or *")
        if not self.repository.routes.delete(org_id, match):
            raise AdminError(f"no route {match}" + (f" for {org_id}" if org_id else ""))
        return {"match": match, "org_id": org_id, "deleted": True, "note": CHANGE_DELAY_NOTE}

    def route_stats(self, carrier: str | None, country: str | None, hours: float) -> list[dict[str, Any]]:
        """Route quality per carrier and country over the last ``hours`` (DESIGN §8), with each
        carrier's demotion as the sweep last judged it."""
        if hours <= 0:
            raise AdminError("--hours must be above 0")
        configs = {config.name: config for config in self.repository.carriers.configs()}
        if carrier is not None and carrier not in configs:
            raise AdminError(f"no carrier {carrier} (lisoloo-admin carriers list)")
        names = [carrier] if carrier is not None else sorted(configs)
        since = self.now - timedelta(hours=hours)
        rows = []
        for stats in route_stats(self.repository, names, since, country=country.upper() if country else None):
            config, figures = configs[stats.carrier], stats.figures
            rows.append(
                {
                    "carrier": stats.carrier,
                    "country": stats.country,
                    "submitted": figures.submitted,
                    "refused": figures.refused,
                    "delivered": figures.delivered,
                    "failed": figures.failed,
                    "no_final_receipt": figures.no_final,
                    "delivery_rate": _share(figures.delivery_rate),
                    "receipt_latency_ms": {"p50": _ms(figures.latency_ms(0.5)), "p95": _ms(figures.latency_ms(0.95))},
                    "fast_receipt_share": _share(figures.fast_share),
                    "demoted": config.demoted,
                    "demotion_reason": config.demotion_reason or None,
                }
            )
        return rows

    @staticmethod
    def _route_row(route: Route) -> dict[str, Any]:
        return {
            "match": route.match,
            "org_id": route.org_id,
            "carriers": [f"{target.carrier}:{target.weight}" for target in route.targets],
        }

    # --- messages -------------------------------------------------------------------------------

    def show_message(self, org_id: str, message_id: str) -> dict[str, Any]:
        """A message and each recipient: its carrier, attempts and times (operator view)."""
        message = self.repository.messages.get(org_id, message_id)
        if message is None:
            raise AdminError(f"no message {message_id} in {org_id}")
        numbers, rows = self.repository.recipients.read_all(org_id, message_id)
        recipients = []
        for index, number in enumerate(numbers):
            row = rows.get(index)
            recipients.append(
                {
                    "index": index,
                    "to": number,
                    "status": row.status.value if row else "pending",
                    "carrier": row.carrier if row else None,
                    # Deliver-by's second carrier: the recipient went through both.
                    "fallback_carrier": row.fallback_carrier if row else None,
                    "fallback_at": _time(row.fallback_at) if row else None,
                    "attempts": row.attempts if row else 0,
                    "carrier_ref": row.carrier_ref if row else None,
                    "error_code": row.error_code if row else None,
                    "handed_off_at": _time(row.handed_off_at) if row else None,
                    "next_attempt_at": _time(row.retry_due_at) if row else None,
                    "next_attempt_only_via": row.retry_carrier if row else None,
                    "updated_at": _time(row.updated_at) if row else None,
                }
            )
        return {
            "org_id": org_id,
            "message_id": message_id,
            "total_recipients": message.total,
            "delivered": message.delivered,
            "failed": message.failed,
            "created_at": _time(message.created_at),
            "started_at": _time(message.started_at),
            "recipients": recipients,
        }


def carrier_config(
    name: str,
    carrier_type: str,
    *,
    url: str = "",
    username: str = "",
    smsc: str = "",
    auth_header: str = "Authorization",
    mapping: str = "",
    tps: int | None = None,
) -> CarrierConfig:
    return CarrierConfig(
        name=name,
        type=CarrierType(carrier_type),
        url=url,
        username=username,
        smsc=smsc,
        auth_header=auth_header,
        mapping=mapping,
        tps=tps,
    )
