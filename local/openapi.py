"""One OpenAPI document for the whole API, from the functions' Powertools resolvers.

Each API function has its own ``app`` (an ``APIGatewayRestResolver``); Powertools'
``OpenAPIMerge`` loads them (the files come from template.yaml's ``Api`` events, so a new route
needs no list kept here) and merges their paths and pydantic schemas. What the resolvers cannot
know is added here from the template and the contract: the ``app-key`` and carrier-token
security schemes per route (from each route's authorizer), the gateway's own answers (401, 403,
429 with Retry-After, 5xx) in the ``{"detail": ...}`` envelope, summaries and examples.

``python -m local.openapi --output openapi.json`` (``make openapi``) writes the committed copy;
``tests/unit/test_openapi.py`` fails while it is stale. :func:`docs_pages` serves it with
Swagger UI on the local stack, offline: the Swagger UI bundled in Powertools is inlined.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.api_model import read_rest_apis
from local.http_messages import HttpRequest, HttpResponse
from local.infrastructure import load_template
from local.settings import REPOSITORY_ROOT

OPENAPI_FILE = REPOSITORY_ROOT / "openapi.json"
DOCS_PATH = "docs"
SPEC_PATH = "openapi.json"

APP_KEY = "app-key"
# Names of security schemes, not secrets.
CARRIER_TOKEN = "carrier-token"  # noqa: S105
CARRIER_TOKEN_QUERY = "carrier-token-query"  # noqa: S105
SECURITY_SCHEMES: dict[str, Any] = {
    APP_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "app-key",
        "description": "Your organization's app-key (`lisoloo-admin keys issue`). Keys start with `lsk_`.",
    },
    CARRIER_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": "x-carrier-token",
        "description": "The carrier's receipt token (`lct_…`), for carriers that can set a header.",
    },
    CARRIER_TOKEN_QUERY: {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The carrier's receipt token in the query string (Kannel-style `dlr-url`).",
    },
}
# Routes without the app-key authorizer, and how they authenticate instead (by function).
PUBLIC_ROUTE_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "ReceiptsFunction": [{CARRIER_TOKEN: []}, {CARRIER_TOKEN_QUERY: []}],
    "InboundFunction": [{CARRIER_TOKEN: []}, {CARRIER_TOKEN_QUERY: []}],
}

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "description": 'Every error that is not a validation error: `{"detail": "<message>"}`.',
}


# Powertools documents a 422's ``detail`` as the list of validation problems only; a domain rule
# (an unsafe webhook URL, a sender id not registered, a reused Idempotency-Key) answers 422 with
# a sentence. Both are the contract (DESIGN §2), so the document says both.
VALIDATION_PROBLEM_SCHEMA = {
    "title": "ValidationError",
    "type": "object",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
    },
}
VALIDATION_ERROR_SCHEMA = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "title": "Detail",
            "oneOf": [
                {"type": "string", "description": "A rule of the fields, in a sentence."},
                {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/ValidationError"},
                    "description": "The request does not match the schema: one entry per problem.",
                },
            ],
        }
    },
    "description": '422: `{"detail": [{loc, msg, type}, ...]}`, or `{"detail": "<sentence>"}` for a field rule.',
}


def _error(description: str, detail: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"detail": detail},
            }
        },
    }
    if headers:
        response["headers"] = dict(headers)
    return response


UNAUTHORIZED = _error(
    "The app-key is missing, unknown or revoked (answered by the gateway).", "Invalid or missing app-key"
)
THROTTLED = _error(
    "Over the organization's rate limit (its usage plan); retry after the given seconds.",
    "Rate limit exceeded",
    {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
)
INTERNAL = _error("Our fault; nothing about the request. Safe to retry.", "Internal server error")
NOT_UTF8 = _error("The request body is not valid UTF-8.", "Request body is not valid UTF-8")
VALIDATION_EXAMPLE = {"detail": [{"loc": ["body", "to", 0], "msg": "not a phone number", "type": "phone_number"}]}

_API = "/api/v1/lisoloo/sms-api"
STATUS_EXAMPLE = {
    "status_code": 200,
    "data": {
        "message_id": "507f1f77bcf86cd799439011",
        "status": "delivered",
        "total_recipients": 1,
        "delivered": 1,
        "failed": 0,
        "pending": 0,
        "created_at": "2026-05-27T10:15:00Z",
        "updated_at": "2026-05-27T10:15:08Z",
        "recipients": [
            {
                "to": "+254712345678",
                "status": "delivered",
                "error_code": None,
                "error_message": None,
                "updated_at": "2026-05-27T10:15:08Z",
            }
        ],
        "recipients_cursor": None,
    },
}
# Summary, description, examples and the domain's own errors, per operation.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", f"{_API}/send"): {
        "summary": "Send one text to up to 10,000 numbers",
        "description": (
            "Returns one `message_id` to follow with `GET /status/{message_id}` or webhooks. Numbers in "
            "national format are read with the organization's default country. An `Idempotency-Key` header "
            "makes retries safe for 24 hours. `scheduled_dates` or `recurring_schedule` schedule the send; "
            "each occurrence is a message of its own. `cost.estimate` (segments times price per recipient) is "
            "reserved from the balance until the message is final; a send the available balance cannot "
            'cover answers 402 and creates nothing. `"dry_run": true` answers the quote per country instead, '
            "and creates nothing."
        ),
        "request_examples": {
            "one number": {"to": ["+254712345678"], "message": "Your code is 4821", "sender_id": "LISOLOO"},
            "scheduled": {
                "to": ["+254712345678", "0733000001"],
                "message": "Reminder: your appointment is tomorrow",
                "scheduled_dates": ["2026-12-01T09:00:00Z"],
                "callback_url": "https://merchant.example/hooks/sms",
                "reference": "order-1182",
            },
        },
        "response_example": {
            "status_code": 200,
            "data": {
                "message_id": "6751f3a09c2e4b7d8a1f0c3e",
                "status": "pending",
                "total_recipients": 1,
                "encoding": "GSM-7",
                "segments": 1,
                "created_at": "2026-11-23T10:15:00Z",
                "reference": None,
                "cost": {"currency": "KES", "estimate": "0.80"},
            },
        },
        "errors": {
            "402": _error(
                "The available balance (balance + credit limit) cannot cover the estimate, or the organization's "
                "daily spend cap cannot (`Daily spend limit reached`). Nothing was stored, queued or reserved.",
                "Insufficient balance",
            ),
            "409": _error(
                "A request with this Idempotency-Key is still in progress.",
                "A request with this Idempotency-Key is still in progress; retry shortly",
            ),
        },
        "headers": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "1-255 visible ASCII characters; the same key and body within 24 h get the first reply.",
                "schema": {"type": "string", "maxLength": 255},
            }
        ],
    },
    ("get", f"{_API}/status/{{message_id}}"): {
        "summary": "A message's status, counters and first page of recipients",
        "description": (
            "Unknown, malformed and other organizations' ids all answer the same 404. Page through the "
            "recipients with `recipients_cursor`, a position: one at or past the end is an empty page "
            "with no next cursor."
        ),
        "response_example": STATUS_EXAMPLE,
        "errors": {"404": _error("No such message for this organization.", "Message not found")},
    },
    ("delete", f"{_API}/schedules/{{schedule_id}}"): {
        "summary": "Cancel a schedule's occurrences not yet released",
        "description": "Occurrences already released carry on; the cancelled ones answer 404 from then on.",
        "response_example": {
            "status_code": 200,
            "data": {"schedule_id": "sch_3f9a1c2b7d4e5f60", "cancelled": ["6751f3a09c2e4b7d8a1f0c3e"]},
        },
        "errors": {"404": _error("No such schedule for this organization.", "Schedule not found")},
    },
    ("get", f"{_API}/balance"): {
        "summary": "The organization's prepaid balance",
        "description": (
            "Amounts are decimal strings in the deployment's currency. `reserved` is held for messages not final "
            "yet and already out of `balance`; `available` (`balance` + `credit_limit`) is what sends may reserve."
        ),
        "response_example": {
            "status_code": 200,
            "data": {
                "currency": "KES",
                "balance": "498.40",
                "reserved": "1.60",
                "credit_limit": "0.00",
                "available": "498.40",
            },
        },
    },
    ("get", f"{_API}/balance/ledger"): {
        "summary": "The organization's ledger entries, newest first",
        "description": (
            "Every change to the account: `reserve` at send, `charge` and `release` once the message is final, "
            "`top_up`, `adjustment` and `credit_limit` by the operator. Pass `cursor` from the previous page."
        ),
    },
    ("get", f"{_API}/messages"): {
        "summary": "The organization's messages, newest first, filtered",
        "description": (
            "Filters combine: `status` (the message's aggregate status), `created_after` (inclusive) and "
            "`created_before` (exclusive), `reference`, `sender_id`, and `recipient` (a number the message was "
            "sent to, E.164 or national; found once dispatch took the number). Pass `cursor` from the previous "
            "page; a page may be short, even empty, and still have a next one."
        ),
    },
    ("get", f"{_API}/events"): {
        "summary": "The organization's webhook events, oldest first, after a position",
        "description": (
            "Every event kept 30 days. Positions only grow and an event is never written behind one already "
            "readable, so polling with the `after` of the previous page misses nothing."
        ),
    },
    ("get", f"{_API}/messages/{{message_id}}/events"): {
        "summary": "A message's timeline: its webhook events, oldest first",
        "description": (
            "The latest `limit` events about the message (`has_older` when there were more), as `GET /events` "
            "lists them. Unknown, malformed and other organizations' ids all answer the same 404."
        ),
        "errors": {"404": _error("No such message for this organization.", "Message not found")},
    },
    ("post", f"{_API}/events/{{event_id}}/redeliver"): {
        "summary": "Queue an event again, to today's targets, under the same webhook-id",
        "status": "202",
        "errors": {"404": _error("No such event for this organization.", "Event not found")},
    },
    ("get", f"{_API}/webhook/deliveries"): {
        "summary": "Webhook delivery attempts, newest first (status=failed: the failed ones)",
    },
    ("post", f"{_API}/exports"): {
        "summary": "Export every recipient of a time range as CSV or JSON Lines",
        "description": "One row per recipient of each message created in [created_after, created_before).",
        "status": "202",
    },
    ("get", f"{_API}/exports/{{export_id}}"): {
        "summary": "An export's status and, once done, a pre-signed link to its file (valid 1 hour)",
        "errors": {"404": _error("No such export for this organization.", "Export not found")},
    },
    ("get", f"{_API}/analytics/delivery"): {
        "summary": "Submitted, delivered, failed, delivery rate and receipt latency per day, country or sender id",
        "description": "Kept as counters while recipients move; the range is read in whole UTC days.",
    },
    ("get", f"{_API}/webhook"): {
        "summary": "The organization's webhook URL",
        "response_example": {
            "status_code": 200,
            "data": {"webhook_url": "https://merchant.example/hooks/sms", "secret_configured": True, "secret": None},
        },
    },
    ("put", f"{_API}/webhook"): {
        "summary": "Set (or, with null, remove) the webhook URL",
        "description": (
            "The URL must be https and must not resolve to a private address. The first time, the reply "
            "carries the signing secret (`whsec_…`): the only time it is shown. Verify deliveries with "
            "the Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature`."
        ),
        "request_examples": {"set": {"webhook_url": "https://merchant.example/hooks/sms"}},
        "response_example": {
            "status_code": 200,
            "data": {
                "webhook_url": "https://merchant.example/hooks/sms",
                "secret_configured": True,
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            },
        },
    },
    ("post", f"{_API}/webhook/rotate-secret"): {
        "summary": "A new signing secret (the old one keeps signing for 24 hours)",
    },
    ("post", f"{_API}/receipts/{{carrier}}"): {
        "summary": "Delivery receipts from a carrier (JSON or form)",
        "description": "For carriers, not merchants: authenticated by the carrier's token.",
        "errors": {
            "401": _error("Bad carrier token.", "Invalid or missing carrier token"),
            "404": _error("Unknown carrier.", "Carrier not found"),
        },
    },
    ("get", f"{_API}/receipts/{{carrier}}"): {
        "summary": "Delivery receipts from a carrier (query string, Kannel-style dlr-url)",
        "description": "For carriers, not merchants: authenticated by the carrier's token.",
        "errors": {
            "401": _error("Bad carrier token.", "Invalid or missing carrier token"),
            "404": _error("Unknown carrier.", "Carrier not found"),
        },
    },
    # --- two-way (DESIGN §9) ---------------------------------------------------------------
    ("get", f"{_API}/suppressions"): {
        "summary": "The organization's suppression list, a page at a time in number order",
    },
    ("post", f"{_API}/suppressions"): {
        "summary": "Suppress up to 10,000 numbers at once (all or none)",
        "request_examples": {"import": {"numbers": ["+254712345678", "0712 345 679"], "reason": "from our CRM"}},
    },
    ("put", f"{_API}/suppressions/{{number}}"): {
        "summary": "Suppress one number: sends to it fail 1406 OPTED_OUT, never submitted",
        "request_examples": {"suppress": {"reason": "asked by phone"}},
    },
    ("delete", f"{_API}/suppressions/{{number}}"): {
        "summary": "Lift a suppression",
        "errors": {"404": _error("The number is not on the list.", "Suppression not found")},
    },
    ("get", f"{_API}/inbound"): {
        "summary": "Messages sent to the organization's numbers, newest first",
    },
    ("post", f"{_API}/inbound/{{carrier}}"): {
        "summary": "Inbound messages (MO) from a carrier (JSON or form)",
        "description": "For carriers, not merchants: authenticated by the carrier's token.",
        "errors": {
            "401": _error("Bad carrier token.", "Invalid or missing carrier token"),
            "404": _error("Unknown carrier.", "Carrier not found"),
        },
    },
    ("get", f"{_API}/inbound/{{carrier}}"): {
        "summary": "Inbound messages (MO) from a carrier (query string, Kannel sms-service get-url)",
        "description": "For carriers, not merchants: authenticated by the carrier's token.",
        "errors": {
            "401": _error("Bad carrier token.", "Invalid or missing carrier token"),
            "404": _error("Unknown carrier.", "Carrier not found"),
        },
    },
    # --- opt-out links (DESIGN §12): the recipient's page, not a merchant's or carrier's call ---
    ("get", f"{_API}/u/{{token}}"): {
        "summary": "The opt-out page of a text's {{opt_out_url}} link: asks the recipient to confirm",
        "description": "For a text's recipient, in a browser: no app-key, the link's token is the "
        "credential. Never opts out (SMS apps and link scanners fetch links).",
        "html": True,
    },
    ("post", f"{_API}/u/{{token}}"): {
        "summary": "Confirm an opt-out link: the number joins the sender's suppression list",
        "description": "The page's form posts here (no body). A used link answers the 'already done' "
        "page; fires `sms.opted_out` once.",
        "html": True,
    },
}

# The opt-out page answers HTML, whatever is asked (an unknown and a malformed token alike).
_HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}
HTML_RESPONSES: dict[str, Any] = {
    "200": {"description": "The page (to confirm, done, or already done).", "content": _HTML_PAGE},
    "404": {"description": "No such link: one plain page for unknown and malformed tokens.", "content": _HTML_PAGE},
}


def _api_routes(template_path: Path) -> list[tuple[str, str, str, str | None]]:
    """(function logical id, method, path, authorizer) of every API route in the template."""
    template = load_template(template_path)
    apis = read_rest_apis(template, {})
    return [
        (route.function_logical_id, route.method.lower(), route.resource_path, route.authorizer)
        for api in apis.values()
        for route in api.routes
    ]


def _project_version() -> str:
    project = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())["project"]
    return str(project["version"])


def generate_openapi(template_path: Path = REPOSITORY_ROOT / "template.yaml") -> dict[str, Any]:
    """The merged document. Imports the API functions' modules (not their handlers' work):
    nothing touches AWS, since every collaborator is built on first use."""
    # Handlers build their Tracer at import; no X-Ray here.
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    template = load_template(template_path)
    routes = _api_routes(template_path)
    merge = OpenAPIMerge(
        title="Lisoloo SMS API",
        version=_project_version(),
        description=(
            "Send one text to many phone numbers, follow it with one `message_id`, receive signed webhooks. "
            'Every error answers `{"detail": ...}`; validation errors answer 422 with `detail` as a list '
            "of `{loc, msg, type}`, or as a sentence for a rule of the fields."
        ),
        on_conflict="error",
    )
    functions = template["Resources"]
    with _placeholder_table():
        for function in sorted({function for function, *_ in routes}):
            properties = functions[function]["Properties"]
            module = str(properties["Handler"]).rsplit(".", 1)[0].replace(".", "/")
            merge.add_file(template_path.parent / str(properties["CodeUri"]) / f"{module}.py")
        document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    return _complete(document, routes)


@contextmanager
def _placeholder_table() -> Iterator[None]:
    """Handlers check their settings when imported, and TABLE_NAME has no default; the document
    reads none of them, so a placeholder stands in while they are imported, and the settings
    read from it are forgotten afterwards."""
    from lisoloo.settings import get_settings

    placeholder = "TABLE_NAME" not in os.environ
    if placeholder:
        os.environ["TABLE_NAME"] = "openapi-document"
    try:
        yield
    finally:
        if placeholder:
            del os.environ["TABLE_NAME"]
            get_settings.cache_clear()


def _complete(document: dict[str, Any], routes: list[tuple[str, str, str, str | None]]) -> dict[str, Any]:
    document["servers"] = [
        {
            "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
            "description": "A deployed stack (the ApiUrl output, without the base path)",
            "variables": {
                "restApiId": {"default": "abc123defg", "description": "the RestApiId output"},
                "region": {"default": "eu-west-1"},
                "stage": {"default": "prod", "enum": ["dev", "prod"]},
            },
        },
        {"url": "http://127.0.0.1:3000", "description": "The local stack (make run)"},
    ]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
        schemas["ValidationError"] = VALIDATION_PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{APP_KEY: []}]
    paths = document["paths"]
    for function, method, path, authorizer in routes:
        operation = paths[path][method]
        extra = OPERATIONS.get((method, path), {})
        operation["summary"] = extra.get("summary", operation.get("summary"))
        if "description" in extra:
            operation["description"] = extra["description"]
        if extra.get("html"):
            operation["tags"] = ["recipients"]
            operation["security"] = []
            operation["responses"] = {**HTML_RESPONSES, "500": INTERNAL}
            continue
        operation["tags"] = ["carriers" if authorizer is None else "merchants"]
        if extra.get("headers"):
            operation["parameters"] = [*operation.get("parameters", []), *extra["headers"]]
        if "request_examples" in extra:
            content = operation["requestBody"]["content"]["application/json"]
            content["examples"] = {name: {"value": value} for name, value in extra["request_examples"].items()}
        responses = operation["responses"]
        if "status" in extra:  # an answer other than 200 (e.g. 202 Accepted)
            responses[extra["status"]] = {**responses.pop("200"), "description": "Accepted"}
        if "response_example" in extra:
            responses["200"]["content"]["application/json"]["example"] = extra["response_example"]
        if "422" in responses:
            responses["422"]["description"] = "The request does not match the schema (or the rules of the fields)."
            responses["422"]["content"]["application/json"]["example"] = VALIDATION_EXAMPLE
        responses.update(extra.get("errors", {}))
        if authorizer is not None and "requestBody" in operation:
            responses["400"] = NOT_UTF8  # carriers' bodies are never refused: unreadable ones are 2xx
        if authorizer is None:
            operation["security"] = PUBLIC_ROUTE_SECURITY.get(function, [])
        else:
            responses["401"] = UNAUTHORIZED
            responses["429"] = THROTTLED
        responses["500"] = INTERNAL
        operation["responses"] = dict(sorted(responses.items()))
    document["paths"] = dict(sorted(paths.items()))
    document["tags"] = [
        {"name": "merchants", "description": "Send and follow messages; authenticated with `app-key`."},
        {"name": "carriers", "description": "Delivery receipts; authenticated with the carrier's token."},
        {"name": "recipients", "description": "The opt-out page a text's `{{opt_out_url}}` link opens."},
    ]
    return document


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- serving it on the local stack -------------------------------------------------------------


def docs_pages(base_path: str, spec_file: Path = OPENAPI_FILE) -> dict[str, Callable[[HttpRequest], HttpResponse]]:
    """``{base}/docs`` (Swagger UI, offline) and ``{base}/openapi.json``, with the local stack as
    the server, so "Try it out" calls it. Read once: a changed file needs a restart."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    document = json.loads(spec_file.read_text()) if spec_file.exists() else generate_openapi()
    document["servers"] = [{"url": "/", "description": "this local stack"}]
    spec = json.dumps(document, indent=2)
    assets = Path(swagger_ui.__file__).parent
    page = generate_swagger_html(
        spec.replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    )
    # Powertools' page asks for "<page>?format=json" too; answer that with the document.
    page_body, spec_body = page.encode(), spec.encode()

    def serve_page(request: HttpRequest) -> HttpResponse:
        if "format=json" in request.query:
            return HttpResponse(200, [("Content-Type", "application/json")], spec_body)
        return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], page_body)

    def serve_spec(_: HttpRequest) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "application/json")], spec_body)

    base = base_path.rstrip("/")
    return {f"{base}/{DOCS_PATH}": serve_page, f"{base}/{SPEC_PATH}": serve_spec}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write here (default: print)")
    parser.add_argument("--check", action="store_true", help="exit 1 if --output differs from what would be written")
    options = parser.parse_args(argv)
    text = render(generate_openapi())
    if options.output is None:
        sys.stdout.write(text)
        return 0
    if options.check:
        current = options.output.read_text() if options.output.exists() else ""
        if current != text:
            print(f"{options.output} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    options.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
