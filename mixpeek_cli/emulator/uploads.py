"""Steps 1 and 3 of the deploy pipeline: hand out a presigned PUT URL, then check the upload.

The URL is a real SigV4 presigned ``put_object`` URL made by boto3, as the service makes
it; moto stores what is PUT to it, and the gate in ``s3_server`` refuses it as S3 would.
"""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from mixpeek_cli.emulator import storage
from mixpeek_cli.emulator.errors import ApiError
from mixpeek_cli.emulator.models import (
    UploadUrlRequest,
    UploadUrlResponse,
    VerifyUploadRequest,
    VerifyUploadResponse,
)
from mixpeek_cli.emulator.records import SignedUrl, iso
from mixpeek_cli.emulator.state import EmulatorState

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def key_prefix(app_id: str) -> str:
    return f"app-builds/{app_id}/"


class Signers:
    """boto3 clients that sign for the host a client will reach: moto, or a proxy in front.

    One per endpoint, made once: building a client takes tens of milliseconds.
    """

    def __init__(self, s3: S3Client, s3_endpoint_url: str) -> None:
        self._clients = {s3_endpoint_url: s3}
        self._lock = threading.Lock()

    def for_endpoint(self, endpoint_url: str) -> S3Client:
        with self._lock:
            if endpoint_url not in self._clients:
                self._clients[endpoint_url] = storage.make_s3_client(endpoint_url)
            return self._clients[endpoint_url]


def upload_url(
    state: EmulatorState, signers: Signers, app_id: str, body: UploadUrlRequest
) -> UploadUrlResponse:
    # A fresh token per call: every upload gets its own key, as in the published example.
    key = f"{key_prefix(app_id)}{secrets.token_hex(16)}/{body.filename}"
    config = state.config
    signer = signers.for_endpoint(config.client_s3_endpoint_url or state.s3_endpoint_url)
    url = signer.generate_presigned_url(
        "put_object",
        Params={"Bucket": state.bucket, "Key": key, "ContentType": body.content_type},
        ExpiresIn=config.upload_url_seconds,
    )
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    state.remember_url(signature, SignedUrl(body.content_type, state.take_url_fault()))
    return UploadUrlResponse(
        upload_url=url, bundle_s3_key=key, expires_in=config.upload_url_seconds
    )


def verify_upload(
    state: EmulatorState, s3: S3Client, app_id: str, body: VerifyUploadRequest
) -> VerifyUploadResponse:
    key = body.bundle_s3_key
    if not key.startswith(key_prefix(app_id)):
        raise ApiError(
            400, "BadRequestError", f"bundle_s3_key must start with {key_prefix(app_id)!r}"
        )
    found = storage.head(s3, state.bucket, key)
    if found is None:
        return VerifyUploadResponse(
            bundle_s3_key=key, exists=False, etag=None, size_bytes=None, last_modified=None
        )
    return VerifyUploadResponse(
        bundle_s3_key=key,
        exists=True,
        etag=found.etag,
        size_bytes=found.size_bytes,
        last_modified=iso(found.last_modified),
    )
