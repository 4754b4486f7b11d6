"""POST /exports and GET /exports/{export_id}: a file of every recipient of a time range."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lisoloo.api import API_PREFIX, build_resolver, current_caller
from lisoloo.dependencies import export_files, exports_queue, repository
from lisoloo.exporting import read_export, request_export
from lisoloo.finding_models import ExportAccepted, ExportRequest, ExportStatus
from lisoloo.models import Envelope
from lisoloo.observability import logger, metrics, tracer
from lisoloo.settings import get_settings

get_settings()  # checked at cold start: a wrong setting fails the init, naming it
app = build_resolver()


@app.post(f"{API_PREFIX}/exports")
def create(request: ExportRequest) -> tuple[Envelope[ExportAccepted], int]:
    accepted = request_export(repository(), exports_queue(), current_caller(app).org_id, request, datetime.now(UTC))
    return Envelope(status_code=202, data=accepted), 202


@app.get(f"{API_PREFIX}/exports/<export_id>")
def status(export_id: str) -> Envelope[ExportStatus]:
    return Envelope(data=read_export(repository(), export_files(), current_caller(app).org_id, export_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
