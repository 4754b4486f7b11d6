"""Routes (DESIGN §8): one ``ROUTES`` partition, read whole by dispatchers (and cached)."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import datetime

from lisoloo.routing import Route, RouteTarget
from lisoloo.storage import keys
from lisoloo.storage.table import ConditionFailed, Item, Table, from_item, timestamp


def route_from_item(item: Item) -> Route:
    values = from_item(item)
    targets = tuple(RouteTarget(name, int(weight)) for name, weight in json.loads(values["targets"]))
    return Route(match=values["match"], targets=targets, org_id=values.get("org_id"))


class Routes:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, route: Route, now: datetime) -> None:
        """Sets (or replaces) the route for its MATCH and scope: the last ``routes set`` wins."""
        self.table.put(
            {
                "PK": keys.ROUTES_PK,
                "SK": keys.route_sk(route.org_id, route.match),
                "match": route.match,
                "org_id": route.org_id,
                # Ordered: the order is the failover order.
                "targets": json.dumps([[target.carrier, target.weight] for target in route.targets]),
                "updated_at": timestamp(now),
            }
        )

    def all(self) -> list[Route]:
        return [route_from_item(item) for item in self.table.query_between(keys.ROUTES_PK, "!", "~")]

    def delete(self, org_id: str | None, match: str) -> bool:
        """False when there was no such route."""
        with suppress(ConditionFailed):
            self.table.delete(keys.ROUTES_PK, keys.route_sk(org_id, match), "attribute_exists(PK)")
            return True
        return False
