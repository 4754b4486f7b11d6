"""Carriers and routes as a container sees them: read from the table on first use and kept
``max_age`` seconds (then read again), so a ``carriers disable`` or ``routes set`` reaches
every dispatcher within that time without a read per chunk."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from lisoloo.carriers.base import Carrier
from lisoloo.carriers.registry import connector_for, settings_config
from lisoloo.routing import CarrierConfig, Route
from lisoloo.settings import CarrierSettings
from lisoloo.storage.carriers import Carriers
from lisoloo.storage.routes import Routes


class CarrierDirectory:
    """A carrier's configuration from the table, or for a stack upgraded from one carrier
    from the template's settings (the table wins); its connector built once per configuration
    (a changed one is rebuilt), so its secrets are read on its first submission only."""

    def __init__(
        self,
        carriers: Carriers,
        settings: CarrierSettings,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._carriers = carriers
        self._settings = settings
        self._max_age = max_age
        self._clock = clock
        self._kept: dict[str, tuple[CarrierConfig | None, Carrier | None, float]] = {}
        self._lock = threading.Lock()

    def config(self, name: str) -> CarrierConfig | None:
        return self._entry(name)[0]

    def connector(self, name: str) -> Carrier | None:
        """Any known carrier's connector, enabled or not (receipts still come from a disabled one)."""
        return self._entry(name)[1]

    def usable(self, name: str) -> Carrier | None:
        """The connector of an enabled carrier; None for an unknown or disabled one."""
        config, connector, _ = self._entry(name)
        return connector if config is not None and config.enabled else None

    def _entry(self, name: str) -> tuple[CarrierConfig | None, Carrier | None, float]:
        now = self._clock()
        with self._lock:
            kept = self._kept.get(name)
        if kept is not None and now - kept[2] < self._max_age:
            return kept
        config = self._carriers.config(name) or settings_config(name, self._settings)
        if kept is not None and _connection(kept[0]) == _connection(config):
            connector = kept[1]  # unchanged: keep the connector (and its secrets cache)
        else:
            connector = connector_for(config, self._settings) if config is not None else None
        entry = (config, connector, now)
        with self._lock:
            self._kept[name] = entry
        return entry


def _connection(config: CarrierConfig | None) -> CarrierConfig | None:
    """What the connector is built from: a demotion changes where traffic goes, not how."""
    return replace(config, demoted=False, demotion_reason="") if config is not None else None


class RouteBook:
    """Every stored route (one Query of a small partition), kept ``max_age`` seconds."""

    def __init__(self, routes: Routes, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._routes = routes
        self._max_age = max_age
        self._clock = clock
        self._kept: tuple[list[Route], float] | None = None
        self._lock = threading.Lock()

    def current(self) -> list[Route]:
        now = self._clock()
        with self._lock:
            kept = self._kept
        if kept is not None and now - kept[1] < self._max_age:
            return kept[0]
        routes = self._routes.all()
        with self._lock:
            self._kept = (routes, now)
        return routes
