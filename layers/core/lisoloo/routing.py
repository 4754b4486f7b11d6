"""Routes (DESIGN §8): which carriers serve a destination, in which order. Pure: no I/O.

A route maps a MATCH (an E.164 prefix ``+2547``, an ISO country ``KE``, or ``*``), globally or
for one organization, to carriers with weights. The most specific route wins: an
organization's over a global one, then a prefix over a country over ``*``, a longer prefix
over a shorter. Among the route's carriers the first choice is drawn by weight from a hash of
the recipient's reference (so a redelivered chunk picks the same carrier); the others follow
in the route's order as its failover list. Weight 0 makes a carrier failover-only.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import phonenumbers

ANY = "*"
_PREFIX = re.compile(r"\+[0-9]{1,15}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CARRIER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_WEIGHT = 1_000


class CarrierType(StrEnum):
    KANNEL = "kannel"
    JASMIN = "jasmin"
    HTTP = "http"
    SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class CarrierConfig:
    """A carrier as the operator configured it (``lisoloo-admin carriers add``); its secrets
    are not here but under ``CarrierSecretsPrefix``/NAME."""

    name: str
    type: CarrierType
    url: str = ""
    username: str = ""
    # Kannel: the smsc-id to route through; the generic carrier: its auth header and mapping.
    smsc: str = ""
    auth_header: str = "Authorization"
    mapping: str = ""
    # Submissions per second across every dispatcher; None: as fast as it answers.
    tps: int | None = None
    enabled: bool = True
    # Set by the sweep from the carrier's route quality (route_quality.py), not by the operator.
    demoted: bool = False
    demotion_reason: str = ""


def is_carrier_name(name: str) -> bool:
    """Lower-case letters, digits, ``-`` and ``_``: it goes in receipt URLs and secret names."""
    return _CARRIER_NAME.fullmatch(name) is not None


class MatchKind(IntEnum):
    """How specific a match is; a higher value wins."""

    ANY = 0
    COUNTRY = 1
    PREFIX = 2


def match_kind(match: str) -> MatchKind | None:
    """The kind of a MATCH, or None when it is none of ``+digits``, a country, ``*``."""
    if match == ANY:
        return MatchKind.ANY
    if _PREFIX.fullmatch(match):
        return MatchKind.PREFIX
    if _COUNTRY.fullmatch(match) and match in phonenumbers.SUPPORTED_REGIONS:
        return MatchKind.COUNTRY
    return None


@dataclass(frozen=True, slots=True)
class RouteTarget:
    carrier: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Route:
    match: str
    targets: tuple[RouteTarget, ...]
    org_id: str | None = None  # None: global

    @property
    def carriers(self) -> tuple[str, ...]:
        return tuple(target.carrier for target in self.targets)


def parse_target(text: str) -> RouteTarget:
    """``CARRIER`` or ``CARRIER:WEIGHT`` (weight 0..1000, default 1); ValueError otherwise."""
    name, _, weight = text.partition(":")
    if not is_carrier_name(name):
        raise ValueError(f"{name!r} is not a carrier name (lower-case letters, digits, - and _)")
    if not weight:
        return RouteTarget(name)
    if not (weight.isascii() and weight.isdigit()) or int(weight) > MAX_WEIGHT:
        raise ValueError(f"the weight of {name} must be a whole number 0..{MAX_WEIGHT}, got {weight!r}")
    return RouteTarget(name, int(weight))


def check_route(route: Route) -> None:
    """ValueError naming what is wrong with a route an operator wants to store."""
    if match_kind(route.match) is None:
        raise ValueError(f"{route.match!r} is not an E.164 prefix (+2547), an ISO country (KE) or *")
    if not route.targets:
        raise ValueError("a route needs at least one carrier")
    names = route.carriers
    if len(set(names)) != len(names):
        raise ValueError("a carrier appears twice in the route")
    if sum(target.weight for target in route.targets) == 0:
        raise ValueError("at least one carrier needs a weight above 0")


def country_of(number: str) -> str | None:
    """The ISO country of an E.164 number, or None when it names none."""
    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def _applies(route: Route, org_id: str, number: str, country: Callable[[], str | None]) -> bool:
    if route.org_id is not None and route.org_id != org_id:
        return False
    kind = match_kind(route.match)
    if kind is MatchKind.PREFIX:
        return number.startswith(route.match)
    if kind is MatchKind.COUNTRY:
        return country() == route.match
    return kind is MatchKind.ANY


def _rank(route: Route) -> tuple[bool, int, int]:
    kind = match_kind(route.match) or MatchKind.ANY
    return (route.org_id is not None, int(kind), len(route.match) if kind is MatchKind.PREFIX else 0)


def resolve(routes: Iterable[Route], org_id: str, number: str) -> Route | None:
    """The route for ``number`` sent by ``org_id``: the most specific that applies, or None."""
    found: Route | None = None
    looked_up: list[str | None] = []

    def country() -> str | None:  # parsed at most once, and only if a country route asks
        if not looked_up:
            looked_up.append(country_of(number))
        return looked_up[0]

    for route in routes:
        if _applies(route, org_id, number, country) and (found is None or _rank(route) > _rank(found)):
            found = route
    return found


def carrier_order(route: Route, reference: str) -> tuple[str, ...]:
    """The route's carriers in the order this recipient tries them: the first by weight, from a
    stable hash of ``reference`` (the same recipient always draws the same), then the rest in
    the route's order."""
    total = sum(target.weight for target in route.targets)
    if total == 0:
        return route.carriers
    draw = zlib.crc32(reference.encode()) % total
    first = route.targets[-1].carrier
    for target in route.targets:
        if draw < target.weight:
            first = target.carrier
            break
        draw -= target.weight
    return (first, *(name for name in route.carriers if name != first))


def demote(routes: Iterable[Route], demoted: Callable[[str], bool]) -> list[Route]:
    """Routes with each demoted carrier's weight given to the others (it keeps none, and comes
    last in the failover order). A route whose weighted carriers are all demoted is left as it
    is: demoting every carrier would prefer none."""
    changed: list[Route] = []
    for route in routes:
        down = {target.carrier for target in route.targets if demoted(target.carrier)}
        if not down or all(target.carrier in down for target in route.targets if target.weight):
            changed.append(route)
            continue
        kept = tuple(target for target in route.targets if target.carrier not in down)
        last = tuple(RouteTarget(target.carrier, 0) for target in route.targets if target.carrier in down)
        changed.append(Route(route.match, kept + last, route.org_id))
    return changed


def implicit_default_carrier(carrier_setting: str) -> str | None:
    """The template's ``Carrier`` parameter as the implicit global ``*`` route (a stack
    upgraded from one carrier keeps working); ``none`` (or empty) means no implicit route."""
    return None if carrier_setting in ("", "none") else carrier_setting


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Where each recipient of a chunk goes: carriers in order per reference, and the
    references no route serves (1407)."""

    orders: dict[str, tuple[str, ...]]
    unroutable: tuple[str, ...]

    def first_choices(self) -> dict[str, list[str]]:
        """References grouped by their first carrier, in the chunk's order."""
        groups: dict[str, list[str]] = {}
        for reference, order in self.orders.items():
            groups.setdefault(order[0], []).append(reference)
        return groups


def plan_routes(
    recipients: Sequence[tuple[str, str]], routes: Sequence[Route], org_id: str, default_carrier: str | None
) -> RoutePlan:
    """Route ``(reference, number)`` pairs. ``default_carrier`` is the implicit global ``*``
    route of a stack upgraded from one carrier (the ``Carrier`` parameter): it applies only
    while no global ``*`` route is stored."""
    if default_carrier and not any(route.match == ANY and route.org_id is None for route in routes):
        routes = [*routes, Route(ANY, (RouteTarget(default_carrier),))]
    orders: dict[str, tuple[str, ...]] = {}
    unroutable: list[str] = []
    for reference, number in recipients:
        route = resolve(routes, org_id, number)
        if route is None:
            unroutable.append(reference)
        else:
            orders[reference] = carrier_order(route, reference)
    return RoutePlan(orders, tuple(unroutable))
