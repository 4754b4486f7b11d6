"""GET|POST /u/{token}: the public opt-out page of a text's ``{{opt_out_url}}`` link (DESIGN §12).
No app-key: the unguessable token is the recipient's only credential. GET shows the page (it
never opts out: SMS apps and link scanners fetch links); POST confirms."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX
from lisoloo.dependencies import repository
from lisoloo.observability import logger, metrics, tracer
from lisoloo.opt_out_page import HEADERS, Page
from lisoloo.settings import get_settings
from lisoloo.unsubscribing import confirm_link, view_link

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
# No validation: the page takes no body (a form POST with no fields) and answers HTML.
app = APIGatewayRestResolver()


@app.get(f"{API_PREFIX}/u/<token>")
def show(token: str) -> Response[str]:
    return _html(view_link(token, repository()))


@app.post(f"{API_PREFIX}/u/<token>")
def confirm(token: str) -> Response[str]:
    return _html(confirm_link(token, repository(), datetime.now(UTC)))


def _html(page: Page) -> Response[str]:
    return Response(int(page.status), HEADERS["Content-Type"], page.html, headers=dict(HEADERS))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
