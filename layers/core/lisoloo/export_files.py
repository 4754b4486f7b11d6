"""Export files in S3: written by the export worker, handed out as pre-signed links."""

from __future__ import annotations

from functools import cached_property
from typing import IO, Any

import boto3
from botocore.config import Config

LINK_SECONDS = 3600


class ExportFiles:
    def __init__(self, bucket: str, download_endpoint: str = "", client: Any | None = None) -> None:
        self.bucket = bucket
        self.download_endpoint = download_endpoint
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or boto3.client("s3")

    @cached_property
    def _signer(self) -> Any:
        """Links are signed (SigV4) for S3 itself, or (the local stack) for moto's server on loopback."""
        if not self.download_endpoint:
            return self._client or boto3.client("s3", config=Config(signature_version="s3v4"))
        return boto3.client(
            "s3",
            endpoint_url=self.download_endpoint,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def upload(self, key: str, body: IO[bytes], content_type: str) -> None:
        # upload_fileobj goes multipart past 8 MB, so a file of any size streams from disk.
        self.client.upload_fileobj(body, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def link(self, key: str) -> str:
        url: str = self._signer.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=LINK_SECONDS
        )
        return url
