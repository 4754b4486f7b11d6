"""The Lisoloo SMS API from Python: ``Client`` (blocking) and ``AsyncClient`` (asyncio) on httpx,
typed models, retries that never send twice, iterators over every listing, and
``webhooks.verify``.

    from lisoloo_client import Client, webhooks

    with Client("http://127.0.0.1:3000/api/v1/lisoloo/sms-api", "lsk_...") as lisoloo:
        sent = lisoloo.send(["+254712345678"], "Your code is 4821")
        final = lisoloo.wait_for_delivery(sent.message_id)
"""

from lisoloo_client import webhooks
from lisoloo_client._async import AsyncClient
from lisoloo_client._calls import PersonalRecipient, SendOptions
from lisoloo_client._http import VERSION as __version__
from lisoloo_client._sync import Client
from lisoloo_client.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequest,
    Conflict,
    DeliveryTimeout,
    LisolooError,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    ValidationError,
    WebhookVerificationError,
)
from lisoloo_client.models import (
    Balance,
    Event,
    InboundMessage,
    MessageStatus,
    MessageSummary,
    RecipientState,
    Recurrence,
    SendAccepted,
    SendQuote,
    SmsStatus,
    Suppression,
    WebhookEvent,
)

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Balance",
    "Client",
    "Conflict",
    "DeliveryTimeout",
    "Event",
    "InboundMessage",
    "LisolooError",
    "MessageStatus",
    "MessageSummary",
    "NotFound",
    "PaymentRequired",
    "PersonalRecipient",
    "RateLimited",
    "RecipientState",
    "Recurrence",
    "SendAccepted",
    "SendOptions",
    "SendQuote",
    "ServerError",
    "SmsStatus",
    "Suppression",
    "ValidationError",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]
