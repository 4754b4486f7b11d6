"""The demo data a fresh local stack starts with: two organizations with their app-keys (the
second one for tenant-isolation tests) and the sandbox carrier's receipt token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class DemoTenants:
    org_id: str
    app_key: str
    second_org_id: str
    second_app_key: str
    carrier_token: str
    webhook_secret: str


def point_demo_webhook(table_name: str, tenants: DemoTenants, webhook_url: str) -> None:
    """A restored demo organization's webhook, moved to where the inspector listens now; its
    signing secret stays the one already printed."""
    from lisoloo.settings import get_settings
    from lisoloo.storage import SmsRepository
    from lisoloo.webhooks.subscriptions import configure_webhook

    configure_webhook(SmsRepository(table_name), tenants.org_id, webhook_url, get_settings(), datetime.now(UTC))


def create_demo_tenants(table_name: str, carrier: str = "sandbox", *, webhook_url: str) -> DemoTenants:
    # Imported here, not at the top: the layer reads settings and builds its logger at import,
    # which must happen after the functions' environment is in place.
    from lisoloo.settings import get_settings
    from lisoloo.storage import SmsRepository
    from lisoloo.webhooks.subscriptions import configure_webhook
    from lisoloo_admin.provisioning import create_organization, issue_app_key, register_carrier

    repository = SmsRepository(table_name)
    org_id = create_organization(repository, name="Demo merchant")
    second_org_id = create_organization(repository, name="Second merchant")
    return DemoTenants(
        org_id=org_id,
        app_key=issue_app_key(repository, org_id),
        second_org_id=second_org_id,
        second_app_key=issue_app_key(repository, second_org_id),
        carrier_token=register_carrier(repository, carrier),
        webhook_secret=configure_webhook(repository, org_id, webhook_url, get_settings(), datetime.now(UTC)).secret
        or "",
    )


def route_sandboxes(table_name: str, sandboxes: dict[str, str], *, star_route: bool = True) -> dict[str, str]:
    """The local sandboxes as carriers (DESIGN §8): each stored as data with its URL (new at
    every start, so written every start), and (``star_route``) a ``*`` route over them all
    unless a global ``*`` route is stored already (an operator's, kept in a restored state).
    Returns a fresh receipt token for each sandbox but the first, whose token is the demo
    tenants' ``carrier_token``."""
    from lisoloo.routing import CarrierConfig, CarrierType, Route, RouteTarget
    from lisoloo.storage import SmsRepository
    from lisoloo_admin.provisioning import register_carrier

    repository = SmsRepository(table_name)
    now = datetime.now(UTC)
    for name, url in sandboxes.items():
        repository.carriers.add(CarrierConfig(name, CarrierType.SANDBOX, url=url), now, replace=True)
    if star_route and not any(route.match == "*" and route.org_id is None for route in repository.routes.all()):
        repository.routes.put(Route("*", tuple(RouteTarget(name) for name in sandboxes)), now)
    return {name: register_carrier(repository, name) for name in list(sandboxes)[1:]}
