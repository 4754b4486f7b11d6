"""An operator and a merchant adopting the API on the running local stack: lisoloo-admin over
the stack's outputs, usage-plan rate limits, key revocation, and the Swagger UI docs page."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

import pytest
import requests

from tests.e2e.conftest import ROOT, LocalStack, admin

pytestmark = pytest.mark.e2e

UNKNOWN_MESSAGE = "0" * 24


def status(stack: LocalStack, key: str) -> requests.Response:
    return requests.get(f"{stack.base_url}/status/{UNKNOWN_MESSAGE}", headers={"app-key": key}, timeout=10)


def test_a_new_organization_from_the_cli_can_call_the_api(local_stack: LocalStack) -> None:
    created = admin(local_stack, "create-org", "Adopter Ltd", "--country", "UG")
    response = status(local_stack, created["app_key"])
    assert response.status_code == 404
    assert response.json() == {"detail": "Message not found"}


def test_a_burst_over_the_organizations_limit_is_429_with_retry_after(local_stack: LocalStack) -> None:
    # Given an organization limited to 1 request a second with a burst of 2
    created = admin(local_stack, "create-org", "Bursty Ltd")
    admin(local_stack, "rate-limit", created["org_id"], "--rate", "1", "--burst", "2")

    # When it sends 6 requests at once
    responses = [status(local_stack, created["app_key"]) for _ in range(6)]

    # Then the burst passes and the rest are throttled with the gateway's envelope and Retry-After
    codes = [response.status_code for response in responses]
    assert codes[:2] == [404, 404], codes
    throttled = [response for response in responses if response.status_code == 429]
    assert len(throttled) >= 3, codes
    assert throttled[0].json() == {"detail": "Rate limit exceeded"}
    assert throttled[0].headers["Retry-After"] == "1"

    # And another organization is not affected
    assert status(local_stack, local_stack.second_app_key).status_code == 404


def test_revoked_keys_stop_working(local_stack: LocalStack) -> None:
    # Given an organization with a key in use and a second key never used
    created = admin(local_stack, "create-org", "Revoker Ltd")
    spare = admin(local_stack, "keys", "issue", created["org_id"])
    assert status(local_stack, created["app_key"]).status_code == 404

    # When both are revoked
    admin(local_stack, "keys", "revoke", created["org_id"], spare["key_id"])
    revoked = admin(local_stack, "keys", "revoke", created["org_id"], created["key_id"])

    # Then a key the gateway has not cached is refused at once
    refused = status(local_stack, spare["app_key"])
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid or missing app-key"}
    # and the one in use may pass until the authorizer cache (300 s, as in AWS) expires: the CLI says when
    assert revoked["stops_working_by"] > revoked["revoked_at"]
    listed = admin(local_stack, "keys", "list", created["org_id"])
    assert [key["active"] for key in listed] == [False, False]


def test_the_docs_need_no_app_key(local_stack: LocalStack) -> None:
    page = requests.get(f"{local_stack.base_url}/docs", timeout=10)
    spec = requests.get(f"{local_stack.base_url}/openapi.json", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert spec.json()["info"]["title"] == "Lisoloo SMS API"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_swagger_ui_renders_every_operation_in_headless_chromium(local_stack: LocalStack) -> None:
    # Given the docs page of the local stack, loaded in a browser with no network but loopback
    chromium = _chromium()
    assert chromium is not None
    documented = json.loads((ROOT / "openapi.json").read_text())["paths"]
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                # Let the page's scripts run (Swagger UI renders after load) before the DOM is dumped.
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"{local_stack.base_url}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    dom = result.stdout

    # Then Swagger UI rendered an operation block for every path of the document, and the title
    assert result.returncode == 0, result.stderr[-2000:]
    assert "swagger-ui" in dom
    assert "Lisoloo SMS API" in dom
    missing = [path for path in documented if f'data-path="{path}"' not in dom]
    assert missing == [], f"not rendered: {missing}"
