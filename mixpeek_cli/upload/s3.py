"""The boto3 path: a managed (multipart above a threshold) transfer, then proof it landed.

Used with the temporary credentials the API hands out and with your own bucket. boto3
costs ~0.3 s to import, so it is imported here, inside the functions, and nowhere else.

What makes it robust:
* botocore's ``standard`` retry mode, set explicitly: every request (each part too) is
  retried on throttling, 5xx and connection errors, from a rewound body;
* SHA-256 checksums on every request (``when_supported``), or Content-MD5 where a store
  rejects flexible checksums (``when_required``), so the store refuses damaged bytes;
* after the upload, HeadObject: the size must match and so must the ETag S3 computed
  (see :mod:`mixpeek_cli.upload.digest`);
* a multipart upload that fails or is interrupted is aborted: s3transfer does it, and a
  guard aborts the upload id it saw created in case anything got past that.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mixpeek_cli import __version__
from mixpeek_cli.errors import UploadError, UsageError
from mixpeek_cli.reporter import ProgressTask, Reporter
from mixpeek_cli.upload.common import BUNDLE_CONTENT_TYPE, TargetRejected
from mixpeek_cli.upload.digest import EtagJob, encrypted_with_kms, normalize_etag
from mixpeek_cli.upload.plan import TransferPlan

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from mixpeek_cli.api import S3Credentials, Trace

Checksums = Literal["when_supported", "when_required"]
# botocore's attempts for each request (parts included), the first one counted.
MAX_ATTEMPTS = 5
_AWS_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")
# A token or signature that is no longer good: a fresh target may help (credentials mode).
_EXPIRED_CODES = frozenset({"ExpiredToken", "TokenRefreshRequired", "RequestExpired"})
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def quiet_aws_loggers() -> None:
    """Keep boto3/botocore debug logs, which print signed headers, off whatever logging is on."""
    for name in _AWS_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def make_client(
    *,
    credentials: S3Credentials | None,
    endpoint_url: str | None,
    checksums: Checksums,
    max_pool: int = 10,
    trace: Trace | None = None,
) -> S3Client:
    """An S3 client: the API's temporary credentials, or boto3's default chain when None."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    quiet_aws_loggers()
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "request_checksum_calculation": checksums,
        "response_checksum_validation": checksums,
        "max_pool_connections": max_pool,
        "connect_timeout": 10,
        "read_timeout": 120,
        "user_agent_extra": f"mixpeek-cli/{__version__}",
    }
    if endpoint_url:
        # MinIO and most self-hosted stores serve buckets by path, not by subdomain.
        options["s3"] = {"addressing_style": "path"}
    try:
        if credentials is not None:
            session = boto3.session.Session(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                region_name=credentials.region or "us-east-1",
            )
            # The API's credentials go to the API's endpoint: never to an AWS_ENDPOINT_URL*
            # the user set for their own bucket.
            options["ignore_configured_endpoint_urls"] = True
        else:
            session = boto3.session.Session()
        client = session.client("s3", endpoint_url=endpoint_url, config=Config(**options))
    except BotoCoreError as exc:  # e.g. ProfileNotFound: a local setting to fix
        raise UsageError(f"cannot set up the S3 client: {exc}", hint=_CREDENTIALS_HINT) from None
    if trace is not None:
        _trace_requests(client, trace)
    return client


def _trace_requests(client: S3Client, trace: Trace) -> None:
    """One line per S3 request and answer, with the SigV4 signature and token masked."""
    from mixpeek_cli.redact import redact_headers, redact_url

    def sent(request: Any, **_: Any) -> None:
        headers = "; ".join(f"{k}: {v}" for k, v in redact_headers(request.headers.items()))
        trace(f"> {request.method} {redact_url(request.url)} [{headers}]")

    def answered(http_response: Any, model: Any, **_: Any) -> None:
        trace(f"S3 {model.name} -> {http_response.status_code}")

    client.meta.events.register("before-send.s3", sent)
    client.meta.events.register("after-call.s3", answered)


_CREDENTIALS_HINT = (
    "set AWS_PROFILE (run `aws sso login` for SSO) or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or run where an instance role applies"
)


@dataclass
class _MultipartGuard:
    """Remembers the multipart upload this transfer created, until it completes."""

    client: S3Client
    bucket: str
    key: str
    upload_ids: list[str] = field(default_factory=list)
    completed: bool = False

    def created(self, parsed: dict[str, Any], **_: Any) -> None:
        upload_id = parsed.get("UploadId")
        if isinstance(upload_id, str):
            self.upload_ids.append(upload_id)

    def done(self, parsed: dict[str, Any], **_: Any) -> None:
        self.completed = True

    def abort_leftovers(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.completed:
            return
        for upload_id in self.upload_ids:
            # s3transfer normally aborted it already: NoSuchUpload is the expected answer.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id
                )


def _add_content_md5(params: dict[str, Any], **_: Any) -> None:
    """Content-MD5 on each PUT and part, for stores that take no flexible checksum."""
    headers = params["headers"]
    if "Content-MD5" in headers or any(h.lower().startswith("x-amz-checksum-") for h in headers):
        return
    body = params.get("body")
    md5 = hashlib.md5(usedforsecurity=False)
    if isinstance(body, (bytes, bytearray)):
        md5.update(body)
    elif body is not None:
        # s3transfer's part readers report progress only once the request is sent, so
        # this read does not move the progress bar.
        start = body.tell()
        while chunk := body.read(8 * 1024 * 1024):
            md5.update(chunk)
        body.seek(start)
    else:
        return
    headers["Content-MD5"] = base64.b64encode(md5.digest()).decode("ascii")


def upload_file(
    client: S3Client,
    *,
    bucket: str,
    key: str,
    path: Path,
    size: int,
    plan: TransferPlan,
    checksums: Checksums,
    task: ProgressTask,
    metadata: dict[str, str] | None = None,
) -> str:
    """Managed upload of ``path`` to ``bucket/key``; returns the ETag it must end up with."""
    from boto3.s3.transfer import TransferConfig, create_transfer_manager
    from s3transfer.subscribers import BaseSubscriber

    class _Progress(BaseSubscriber):
        # Called from s3transfer's threads as botocore reads each part body onto the
        # socket; negative when a retried request rewinds.
        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            task.advance(bytes_transferred)

    part = plan.part_size or size
    config = TransferConfig(
        # Decided by plan_transfer: the same rule the ETag check computes with.
        multipart_threshold=part if plan.multipart else size + 1,
        multipart_chunksize=max(part, 1),
        max_concurrency=plan.concurrency,
        use_threads=True,
    )
    extra: dict[str, Any] = {"ContentType": BUNDLE_CONTENT_TYPE}
    if metadata:
        extra["Metadata"] = metadata
    if checksums == "when_supported":
        extra["ChecksumAlgorithm"] = "SHA256"
    guard = _MultipartGuard(client, bucket, key)
    events = client.meta.events
    handlers: list[tuple[str, Callable[..., None]]] = [
        ("after-call.s3.CreateMultipartUpload", guard.created),
        ("after-call.s3.CompleteMultipartUpload", guard.done),
    ]
    if checksums == "when_required":
        handlers += [
            ("before-call.s3.PutObject", _add_content_md5),
            ("before-call.s3.UploadPart", _add_content_md5),
        ]
    for event, handler in handlers:
        events.register(event, handler)
    etag_job = EtagJob(path, plan.part_size)
    try:
        with _translated(bucket, key), create_transfer_manager(client, config) as manager:
            future = manager.upload(
                str(path), bucket, key, extra_args=extra, subscribers=[_Progress()]
            )
            future.result()
        return etag_job.result()
    except BaseException:
        # Ctrl-C included: no part may stay behind to be billed.
        etag_job.cancel()
        guard.abort_leftovers()
        raise
    finally:
        for event, handler in handlers:
            events.unregister(event, handler)


def verify_upload(
    client: S3Client,
    *,
    bucket: str,
    key: str,
    size: int,
    expected_etag: str,
    reporter: Reporter,
) -> None:
    """HeadObject: the stored size and ETag must be the ones sent, or UploadError."""
    from botocore.exceptions import ClientError

    try:
        with _translated(bucket, key):
            head = client.head_object(Bucket=bucket, Key=key)
    except UploadError as exc:
        if isinstance(exc.__context__, ClientError) and _code(exc.__context__) in ("403",):
            reporter.warn(
                f"cannot confirm the upload of s3://{bucket}/{key}: HeadObject was denied "
                "(grant s3:GetObject); relying on the store's checksum check"
            )
            return
        raise
    stored = head.get("ContentLength")
    if stored != size:
        raise UploadError(
            f"s3://{bucket}/{key} holds {stored} bytes after the upload, not {size}",
            hint="retry the deploy",
        )
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    etag = normalize_etag(head.get("ETag"))
    if etag is None or encrypted_with_kms(headers):
        return
    if etag != expected_etag:
        raise UploadError(
            f"s3://{bucket}/{key} holds different bytes than were sent "
            f"(ETag {etag}, expected {expected_etag})",
            hint="retry the deploy; if it repeats, something between you and S3 alters uploads",
        )


def head_object(client: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    """The object's HeadObject answer, or None when it is missing or we may not look."""
    from botocore.exceptions import ClientError

    try:
        with _translated(bucket, key):
            return dict(client.head_object(Bucket=bucket, Key=key))
    except UploadError as exc:
        # Without s3:ListBucket, S3 answers a missing key with 403, not 404.
        if isinstance(exc.__context__, ClientError) and _code(exc.__context__) in _MISSING | {
            "403"
        }:
            return None
        raise


def delete_object(client: S3Client, bucket: str, key: str) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError):
        return False
    return True


@contextlib.contextmanager
def _translated(bucket: str, key: str) -> Iterator[None]:
    """boto3's failures as one-line MixpeekErrors; the original stays as ``__context__``."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
        SSOError,
    )

    where = f"s3://{bucket}/{key}"
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError, SSOError) as exc:
        raise UsageError(
            f"no usable AWS credentials for {where}: {exc}", hint=_CREDENTIALS_HINT
        ) from None
    except ClientError as exc:
        code = _code(exc)
        if code in _EXPIRED_CODES:
            raise TargetRejected(f"the upload credentials have expired ({code})") from exc
        raise UploadError(f"upload to {where} failed: {exc}", hint=_hint(code)) from None
    except S3UploadFailedError as exc:
        raise UploadError(f"upload to {where} failed: {exc}", hint="retry the deploy") from None
    except BotoCoreError as exc:
        raise UploadError(
            f"upload to {where} failed: {exc}", hint="check your network and retry"
        ) from None


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _hint(code: str) -> str:
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return "check the AWS credentials and that they grant s3:PutObject on the bucket"
    if code in ("NoSuchBucket",):
        return "check --bucket / MIXPEEK_BUNDLE_BUCKET and the endpoint"
    return "retry the deploy"
