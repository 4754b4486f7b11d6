"""What the carriers' own endpoints (receipts, inbound messages) share: the carrier's token,
from the ``x-carrier-token`` header or the ``token`` query parameter (Kannel's URLs can only
carry the latter); the request as its connector reads it; and the 2xx a carrier needs to stop
re-sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lisoloo.api import body_text
from lisoloo.carrier_tokens import CarrierTokens
from lisoloo.carriers import Carrier, ReceiptRequest


@dataclass(frozen=True, slots=True)
class CarrierCall:
    """An authenticated request of a carrier: its connector and what it sent."""

    connector: Carrier
    request: ReceiptRequest

    def reply(self, data: dict[str, Any]) -> Response[Any]:
        """The exact body this carrier needs to stop re-sending (Jasmin: ACK/Jasmin), else our
        envelope with ``data``."""
        acknowledgement = self.connector.receipt_acknowledgement
        if acknowledgement is not None:
            return Response(200, content_types.TEXT_PLAIN, acknowledgement)
        return Response(200, content_types.APPLICATION_JSON, {"status_code": 200, "data": data})


def carrier_call(
    event: APIGatewayProxyEvent,
    carrier: str,
    tokens: CarrierTokens,
    connector_for: Callable[[str], Carrier],
    now: datetime,
) -> CarrierCall:
    """The request, once its carrier is known (else CarrierNotFoundError, 404) and its token
    matches (else InvalidCarrierTokenError, 401)."""
    query = event.query_string_parameters or {}
    tokens.authenticate(carrier, event.headers.get("x-carrier-token") or query.get("token"), now)
    request = ReceiptRequest(
        method=event.http_method,
        body=body_text(event),  # bytes that are not UTF-8 are unreadable, answered 2xx, never a 5xx
        content_type=event.headers.get("content-type", ""),
        query=query,
    )
    return CarrierCall(connector_for(carrier), request)
