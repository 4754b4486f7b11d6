"""The local gateway under a burst of simultaneous clients: every connection is answered."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

CLIENTS = 32


def test_32_concurrent_clients_are_all_answered(local_stack: LocalStack) -> None:
    # Given 32 clients, each on its own connection, released at the same instant
    start = threading.Barrier(CLIENTS)

    def send(index: int) -> int | str:
        start.wait(timeout=10)
        try:
            answer = requests.post(
                f"{local_stack.base_url}/send",
                json={"to": ["+254712345678"], "message": f"burst {index}"},
                headers={"app-key": local_stack.app_key, "Connection": "close"},
                timeout=60,
            )
        except requests.ConnectionError as error:
            return repr(error)
        return answer.status_code

    # When they all POST /send at once
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(send, range(CLIENTS)))

    # Then each gets an HTTP answer (accepted, or throttled by the usage plan), none a reset
    assert [outcome for outcome in outcomes if outcome not in (200, 429)] == []
    assert 200 in outcomes
