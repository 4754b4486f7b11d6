"""How both clients set up httpx: where to, with which headers, for how long."""

from __future__ import annotations

from typing import Any

VERSION = "0.1.0"
DEFAULT_TIMEOUT = 30.0  # API Gateway gives up on a request after 29 s


def client_options(base_url: str, app_key: str, timeout: float) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` and ``httpx.AsyncClient`` alike."""
    if not app_key:
        raise ValueError("app_key is required: the app-key your organization was given")
    return {
        "base_url": base_url,
        "headers": {"app-key": app_key, "accept": "application/json", "user-agent": f"lisoloo-client-python/{VERSION}"},
        "timeout": timeout,
        # A redirect would carry the app-key to wherever it points; the API never redirects.
        "follow_redirects": False,
    }
