"""SQS records whose body is one of our queue jobs, for the batch processors' ``model=``.

Apart from ``models`` because Powertools' parser models package imports every event source's
models (a quarter of a second of cold start): only the queue consumers pay for it.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from lisoloo.finding_models import ExportJob
from lisoloo.models import DispatchJob, ReceiptJob, WebhookDeliveryJob


class DispatchJobRecord(SqsRecordModel):
    """An SQS record whose body is a dispatch job (parsed by the batch processor)."""

    body: Json[DispatchJob]  # narrows the raw string body


class WebhookDeliveryRecord(SqsRecordModel):
    body: Json[WebhookDeliveryJob]


class ReceiptJobRecord(SqsRecordModel):
    body: Json[ReceiptJob]


class ExportJobRecord(SqsRecordModel):
    body: Json[ExportJob]
