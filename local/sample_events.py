"""The repository's sample events (``events/*.json``, what ``sam local invoke -e`` takes), and an
API Gateway request made from one of them, for handlers called in-process by the integration
tests and the bench. (The local gateway builds its events from real HTTP requests instead:
``local.api_events``.)"""

from __future__ import annotations

import json
from typing import Any, Protocol

from local.settings import REPOSITORY_ROOT

EVENTS = REPOSITORY_ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>.json`` (read each time: callers change what they get)."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


class Tenant(Protocol):
    org_id: str
    default_country: str


def api_event(
    event_name: str,
    caller: Tenant | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``events/<event_name>.json`` as API Gateway would pass this request on: with the
    authorizer's context for ``caller``, and the body, path, query and headers given."""
    event = load_event(event_name)
    if caller is not None:
        event["requestContext"]["authorizer"] = {
            "principalId": caller.org_id,
            "org_id": caller.org_id,
            "default_country": caller.default_country,
        }
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if path is not None:
        event["path"] = path
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    if headers is not None:
        event["headers"] = {**event["headers"], **headers}
        event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    return event
