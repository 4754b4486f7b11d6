"""An HTTP client that behaves like a well-mannered merchant: on 429 it waits as told and retries.

The local stack applies the template's usage-plan throttle (10 requests a second per
organization, bursts of 20), so tests that fire many requests in a row would otherwise measure
the throttle instead of what they are about.
"""

from __future__ import annotations

import time
from typing import Any

import requests

MAX_WAIT_SECONDS = 30.0


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """``requests.request`` that retries a 429 after its Retry-After (or a short pause)."""
    kwargs.setdefault("timeout", 60)
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while True:
        response = requests.request(method, url, **kwargs)  # noqa: S113 - the timeout is in kwargs
        if response.status_code != 429 or time.monotonic() > deadline:
            return response
        retry_after = response.headers.get("Retry-After", "")
        time.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit() else 0.2)


def get(url: str, **kwargs: Any) -> requests.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    return request("POST", url, **kwargs)


def put(url: str, **kwargs: Any) -> requests.Response:
    return request("PUT", url, **kwargs)


def delete(url: str, **kwargs: Any) -> requests.Response:
    return request("DELETE", url, **kwargs)
