"""Schemathesis against the running local stack's OpenAPI document: every operation, with a valid
app-key (or carrier token), a wrong one and none, valid and invalid inputs. Zero 5xx; every
response has a documented status, content type and schema.

``make test`` runs a few derandomized examples per operation; ``make fuzz`` many random ones
(``LISOLOO_FUZZ_EXAMPLES``). The document is the one the stack serves at ``{base}/openapi.json``
(the committed ``openapi.json``); the test skips, saying so, when neither exists.

Webhook and callback URLs in generated bodies are swapped for URLs that need no DNS (a loopback
port with nothing behind it, a private address, a bad scheme), so fuzzing never looks names up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import LocalStack
from tests.reliability.tenants import Tenant, new_tenant

pytestmark = pytest.mark.e2e

FUZZING = "LISOLOO_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("LISOLOO_FUZZ_EXAMPLES", "4"))
COMMITTED_DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.json"
SAFE_URLS = [None, "http://127.0.0.1:9/hook", "https://10.1.2.3/hook", "ftp://files.example/hook", "https://"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations() -> list[Any]:
    if not COMMITTED_DOCUMENT.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason="openapi.json is missing: make openapi writes it"))]
    paths = json.loads(COMMITTED_DOCUMENT.read_text())["paths"]
    return [f"{method.upper()} {path}" for path, operations in paths.items() for method in operations]


@pytest.fixture(scope="module")
def api_schema(local_stack: LocalStack) -> Any:
    served = requests.get(f"{local_stack.base_url}/openapi.json", timeout=10)
    if served.status_code == 200:
        document = served.json()
    elif COMMITTED_DOCUMENT.exists():
        document = json.loads(COMMITTED_DOCUMENT.read_text())
    else:
        pytest.skip("the local stack serves no OpenAPI document and openapi.json is missing")
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=local_stack.base_url.split("/api/", 1)[0])
    return schema


@pytest.fixture(scope="module")
def tenant(local_stack: LocalStack) -> Tenant:
    # An organization of its own with room to fuzz: the default plan (10/s) would answer 429s.
    return new_tenant(local_stack.moto_url, rate_limit=500, burst_limit=1000)


@pytest.mark.parametrize(
    "detail",
    [
        pytest.param("webhook URL must use https", id="a-sentence"),
        pytest.param([{"loc": ["body", "to", 0], "msg": "not a phone number", "type": "phone_number"}], id="a-list"),
    ],
)
def test_every_published_422_admits_a_sentence_and_a_list(detail: Any) -> None:
    """DESIGN §2: a 422 carries ``detail`` as a list (request validation) or a sentence (a rule
    of the fields: an unsafe webhook URL, a reused Idempotency-Key). The document must say both,
    or the fuzz below would call a correct answer off-schema."""
    import jsonschema

    document = json.loads(COMMITTED_DOCUMENT.read_text())
    answers = [
        operation["responses"]["422"]
        for operations in document["paths"].values()
        for operation in operations.values()
        if "422" in operation["responses"]
    ]
    assert answers
    for answer in answers:
        schema = {**answer["content"]["application/json"]["schema"], "components": document["components"]}
        jsonschema.validate({"detail": detail}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": 5}, schema)


def is_carriers(operation: str) -> bool:
    """Routes carriers call (receipts, inbound messages), authenticated by the carrier token."""
    return "/receipts/" in operation or "/inbound/" in operation


def is_recipients(operation: str) -> bool:
    """The opt-out page a text's link opens: public, its token the only credential."""
    return "/u/{token}" in operation


def credentials(kind: str, operation: str, stack: LocalStack, tenant: Tenant) -> dict[str, str]:
    receipts = is_carriers(operation)
    if kind == "valid":
        return {"x-carrier-token": stack.carrier_token} if receipts else {"app-key": tenant.app_key}
    if kind == "wrong":
        return {"x-carrier-token": "lct_wrong"} if receipts else {"app-key": "lsk_wrong_key_for_fuzzing"}
    return {}


def without_dns(case: Any, choice: int) -> None:
    if isinstance(case.body, dict):
        for field in ("callback_url", "webhook_url"):
            if isinstance(case.body.get(field), str):
                case.body[field] = SAFE_URLS[choice % len(SAFE_URLS)]


@pytest.mark.parametrize("kind", ["valid", "wrong", "none"])
@pytest.mark.parametrize("operation", _operations())
def test_no_operation_answers_5xx_or_off_schema(
    local_stack: LocalStack, api_schema: Any, tenant: Tenant, operation: str, kind: str
) -> None:
    method, path = operation.split(" ", 1)
    endpoint = api_schema[path][method]
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if kind == "valid" else [GenerationMode.POSITIVE]
    strategy = st.one_of(*(endpoint.as_strategy(generation_mode=mode) for mode in modes))
    headers = credentials(kind, operation, local_stack, tenant)
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES if kind == "valid" else max(1, EXAMPLES // 4),
        deadline=None,
        derandomize=not FUZZING,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, choice=st.integers(0, 100))
    def fuzz(case: Any, choice: int) -> None:
        without_dns(case, choice)
        for name in ("app-key", "x-carrier-token", "App-Key"):
            (case.headers or {}).pop(name, None)
        if case.query:
            case.query.pop("token", None)
        response = case.call(session=session, headers=headers, timeout=60)
        assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"
        if kind != "valid" and not is_carriers(path) and not is_recipients(path):
            assert (response.status_code, response.json()) == (401, {"detail": "Invalid or missing app-key"})
        case.validate_response(response, checks=CHECKS)

    fuzz()
