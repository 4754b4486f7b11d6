"""Carriers' receipt tokens, checked against the hashes stored for them, with the hashes kept a
little while (per container in AWS), so a burst of receipts costs one read of the table rather
than one read each."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from lisoloo.credentials import secret_matches
from lisoloo.errors import CarrierNotFoundError, InvalidCarrierTokenError
from lisoloo.organization_entities import CarrierRecord
from lisoloo.storage.carriers import Carriers


class CarrierTokens:
    """A token that matches the kept hash passes; one that does not is checked once more against
    the table, so a carrier whose token was just replaced is never turned away. A replaced
    token keeps working for at most ``max_age`` after the replacement, as a revoked app-key
    does for the authorizer's cache. Unknown carriers are not kept: they are read every time."""

    def __init__(self, carriers: Carriers, max_age: timedelta) -> None:
        self._carriers = carriers
        self._max_age = max_age
        self._kept: dict[str, tuple[CarrierRecord, datetime]] = {}
        self._lock = threading.Lock()

    def authenticate(self, carrier: str, token: str | None, now: datetime) -> None:
        """Nothing, or CarrierNotFoundError (404) / InvalidCarrierTokenError (401)."""
        kept = self._fresh(carrier, now)
        if kept is not None and token and secret_matches(token, kept.token_hash):
            return
        record = self._carriers.find(carrier)
        if record is None:
            raise CarrierNotFoundError()
        with self._lock:
            self._kept[carrier] = (record, now)
        if not token or not secret_matches(token, record.token_hash):
            raise InvalidCarrierTokenError()

    def _fresh(self, carrier: str, now: datetime) -> CarrierRecord | None:
        with self._lock:
            entry = self._kept.get(carrier)
        if entry is None or now - entry[1] >= self._max_age:
            return None
        return entry[0]
