"""Move the bundle to S3: a streamed PUT to a presigned URL, or boto3 with temporary credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx

from mixpeek_cli.api import S3Credentials, UploadTarget
from mixpeek_cli.errors import UploadError
from mixpeek_cli.reporter import ProgressTask, Reporter, track

CHUNK_SIZE = 1024 * 1024
PUT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=10.0)


def upload_bundle(target: UploadTarget, zip_path: Path, size: int, reporter: Reporter) -> None:
    """Upload ``zip_path`` to ``target``; returns only once S3 confirmed it stored the bytes."""
    with track(reporter, "Uploading", size, "bytes") as task:
        if target.presigned_url:
            put_presigned(target.presigned_url, target.headers, zip_path, size, task)
        elif target.credentials is not None:
            put_with_credentials(target.credentials, target.bundle_s3_key, zip_path, size, task)
        else:  # parse_upload_target guarantees one of them
            raise UploadError("the upload target names no way to upload")


def _read_chunks(path: Path, task: ProgressTask) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            yield chunk
            task.advance(len(chunk))


def put_presigned(
    url: str, headers: dict[str, str], zip_path: Path, size: int, task: ProgressTask
) -> None:
    send_headers = {**headers, "Content-Length": str(size)}
    # A fresh client: the presigned URL is its own credential and must not get the API key.
    with httpx.Client(timeout=PUT_TIMEOUT, follow_redirects=False) as client:
        try:
            response = client.put(url, content=_read_chunks(zip_path, task), headers=send_headers)
        except httpx.TransportError as exc:
            raise UploadError(
                f"upload of the bundle failed: {type(exc).__name__}: {exc}",
                hint="check your network and retry",
            ) from None
    if response.status_code != 200:
        raise UploadError(
            f"S3 refused the bundle upload: HTTP {response.status_code}: {_s3_message(response)}",
            hint="retry the deploy; if it keeps failing, the upload URL may have expired",
        )


def _s3_message(response: httpx.Response) -> str:
    code = re.search(r"<Code>([^<]*)</Code>", response.text)
    message = re.search(r"<Message>([^<]*)</Message>", response.text)
    parts = [m.group(1) for m in (code, message) if m]
    return ": ".join(parts) if parts else (response.reason_phrase or "no message")


def put_with_credentials(
    creds: S3Credentials, key: str, zip_path: Path, size: int, task: ProgressTask
) -> None:
    # boto3 costs ~0.3 s to import; only this path needs it.
    import boto3
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name=creds.region or "us-east-1",
    )
    client = session.client(
        "s3",
        endpoint_url=creds.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )
    part = 8 * 1024 * 1024 if size < 1024**3 else 64 * 1024 * 1024
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)
    try:
        client.upload_file(str(zip_path), creds.bucket, key, Config=config, Callback=task.advance)
    except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
        raise UploadError(
            f"upload of the bundle to s3://{creds.bucket}/{key} failed: {exc}",
            hint="retry the deploy",
        ) from None
