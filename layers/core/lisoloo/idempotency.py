"""The Idempotency-Key header on POST /send, on Powertools' idempotency utility.

Same organization + same key + same body within 24 h → the first reply again, nothing sent
twice; same key with another body → 422. Keys are scoped to the organization, so two
merchants choosing the same key never meet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.errors import DomainError
from lisoloo.models import Caller, SendAccepted, SendRequest
from lisoloo.settings import get_settings

KEY_LIFETIME_SECONDS = 24 * 3600
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidIdempotencyKeyError(DomainError):
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY
    detail = "Idempotency-Key must be 1-255 visible ASCII characters"


class IdempotencyKeyReusedError(DomainError):
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY
    detail = "Idempotency-Key was already used with a different request body"


class RequestInProgressError(DomainError):
    http_status = HTTPStatus.CONFLICT
    detail = "A request with this Idempotency-Key is still in progress; retry shortly"


@cache
def _config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[org_id, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=KEY_LIFETIME_SECONDS,
    )


def register_lambda_context(context: LambdaContext) -> None:
    """Lets an in-progress record expire with the invocation, so a crashed send can be retried."""
    _config().register_lambda_context(context)


@cache
def _once() -> Callable[..., dict[str, Any]]:
    # Built on first use: the persistence layer creates its DynamoDB client when constructed.
    persistence = DynamoDBPersistenceLayer(table_name=get_settings().resources.idempotency_table_name)

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
        data_keyword_argument="request", persistence_store=persistence, config=_config()
    )
    def run(*, request: dict[str, Any], send: Callable[[], SendAccepted]) -> dict[str, Any]:
        return send().model_dump(mode="json")

    once: Callable[..., dict[str, Any]] = run
    return once


def send_once(
    request: SendRequest, caller: Caller, idempotency_key: str | None, send: Callable[[], SendAccepted]
) -> SendAccepted:
    if idempotency_key is None:
        return send()
    if not _KEY.fullmatch(idempotency_key):
        raise InvalidIdempotencyKeyError()
    scoped = {"org_id": caller.org_id, "key": idempotency_key, "body": request.model_dump(mode="json")}
    try:
        return SendAccepted.model_validate(_once()(request=scoped, send=send))
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReusedError() from error
    except IdempotencyAlreadyInProgressError as error:
        raise RequestInProgressError() from error
