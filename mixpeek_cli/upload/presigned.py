"""The presigned PUT: one streamed request of the zip from disk, retried from byte 0, checked.

The URL is its own credential, so it goes through a fresh httpx client that never sees the
API key or any Mixpeek header, and it never appears in a message (its query string holds
the signature).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mixpeek_cli.errors import DeadlineReached, UploadError
from mixpeek_cli.output.reporter import ProgressTask
from mixpeek_cli.service.retry import RETRYABLE_STATUS, RetryPolicy
from mixpeek_cli.upload.common import BUNDLE_CONTENT_TYPE, TargetRejected
from mixpeek_cli.upload.digest import Md5Job, encrypted_with_kms, plain_md5_etag

if TYPE_CHECKING:
    import httpx

    from mixpeek_cli.deadline import Deadline
    from mixpeek_cli.service.client import Trace

GiB = 1024**3
# S3's limit for one PUT; the published upload is a single presigned PUT.
SINGLE_PUT_LIMIT = 5 * GiB
# Large reads into one reused buffer: a few hundred iterations for a big bundle, and no
# fresh allocation per chunk. httpx writes each chunk to the socket before asking for the
# next, so counting a chunk when the next is asked for counts bytes actually sent.
CHUNK_SIZE = 4 * 1024 * 1024
UPLOAD_RETRY = RetryPolicy(max_attempts=5)

# S3's codes for "this URL (or the token behind it) is no longer good": a fresh one helps.
_EXPIRED_CODES = frozenset({"ExpiredToken", "TokenRefreshRequired", "RequestExpired"})


def check_single_put(size: int) -> None:
    """Refuse, before sending anything, a bundle too big for one PUT."""
    if size > SINGLE_PUT_LIMIT:
        raise UploadError(
            f"the bundle is {size / GiB:.2f} GiB, over S3's 5 GiB limit for a single upload",
            hint="shrink the bundle (see .mixpeekignore)",
        )


def put_presigned(
    url: str,
    path: Path,
    size: int,
    task: ProgressTask,
    *,
    retry: RetryPolicy = UPLOAD_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    trace: Trace | None = None,
    deadline: Deadline | None = None,
) -> str:
    """PUT ``path`` to ``url``; return the zip's MD5 once S3 answered 200 with a matching ETag.

    Raises :class:`TargetRejected` when S3 refuses the URL itself (expired, bad signature).
    Every wait (connect, each read and write, a back-off) ends by ``deadline``.
    """
    import httpx

    from mixpeek_cli.service.redact import redact_headers, redact_url
    from mixpeek_cli.service.resend import shrink

    check_single_put(size)
    # httpx logs each request's full URL at INFO: keep the signature out of any log.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Content-Type is part of the signature; nothing else of ours goes to S3.
    send_headers = {"Content-Type": BUNDLE_CONTENT_TYPE, "Content-Length": str(size)}
    timeout = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=10.0)
    md5_job = Md5Job(path)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            attempt = 0
            while True:
                attempt += 1
                sent = [0]
                retry_after: str | None = None
                if trace is not None:
                    shown = "; ".join(f"{k}: {v}" for k, v in redact_headers(send_headers.items()))
                    trace(f"> PUT {redact_url(url)} [{shown}]")
                if deadline is not None and deadline.expired:
                    raise _out_of_time(deadline)
                try:
                    response = client.put(
                        url,
                        content=_stream(path, task, sent),
                        headers=send_headers,
                        timeout=timeout if deadline is None else shrink(timeout, deadline),
                    )
                except httpx.TransportError as exc:
                    if deadline is not None and deadline.expired:
                        raise _out_of_time(deadline) from None
                    failure = UploadError(
                        f"upload of the bundle failed: {_describe(exc)}",
                        hint="check your network and retry",
                    )
                else:
                    if trace is not None:
                        trace(f"PUT (presigned) -> {response.status_code}")
                    if response.status_code == 200:
                        md5 = md5_job.result()
                        _check_etag(response, md5)
                        return md5
                    _raise_if_rejected(response)
                    failure = UploadError(
                        f"S3 refused the bundle upload: HTTP {response.status_code}: "
                        f"{s3_error_message(response.text, response.reason_phrase)}",
                        hint="retry the deploy",
                    )
                    if response.status_code not in RETRYABLE_STATUS:
                        raise failure
                    retry_after = response.headers.get("Retry-After")
                # Start again from byte 0: the progress bar goes back with it.
                task.advance(-sent[0])
                if attempt >= retry.max_attempts:
                    raise failure
                wait = retry.backoff(attempt, retry_after)
                if deadline is not None and not deadline.allows(wait):
                    raise DeadlineReached(
                        f"{failure.message}; not retried: the next try would come after "
                        f"--timeout ({deadline.seconds:g}s) ran out",
                        hint="retry the deploy, with more time (--timeout)",
                    )
                sleep(wait)
    finally:
        md5_job.cancel()


def _out_of_time(deadline: Deadline) -> DeadlineReached:
    return DeadlineReached(
        f"the upload did not finish before --timeout ({deadline.seconds:g}s) ran out; "
        "no deploy was created",
        hint="retry the deploy, with more time (--timeout)",
    )


def _stream(path: Path, task: ProgressTask, sent: list[int]) -> Iterator[bytes]:
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            # A view, not bytes: httpcore/h11 accept any buffer, and it saves a copy.
            yield cast("bytes", view[:n])
            # Resumed: the chunk above is written; the buffer may be refilled.
            sent[0] += n
            task.advance(n)


def _check_etag(response: httpx.Response, md5: str) -> None:
    etag = plain_md5_etag(response.headers.get("ETag"))
    if etag is None or encrypted_with_kms(response.headers):
        return  # no MD5 to compare; verify-upload and the 200 are the store's word
    if etag != md5:
        raise UploadError(
            f"S3 stored different bytes than were sent (ETag {etag}, the zip's MD5 {md5})",
            hint="retry the deploy; if it repeats, something between you and S3 alters uploads",
        )


def _raise_if_rejected(response: httpx.Response) -> None:
    """Raise TargetRejected when S3 refused the URL itself rather than the upload."""
    if response.status_code not in (400, 403):
        return
    code, message = s3_error_parts(response.text)
    if code == "SignatureDoesNotMatch":
        raise TargetRejected("the upload URL's signature does not match (SignatureDoesNotMatch)")
    if code in _EXPIRED_CODES or (code == "AccessDenied" and "expired" in message.lower()):
        raise TargetRejected(f"the upload URL has expired ({code}: {message or 'no message'})")


def s3_error_parts(body: str) -> tuple[str, str]:
    code = re.search(r"<Code>([^<]*)</Code>", body)
    message = re.search(r"<Message>([^<]*)</Message>", body)
    return (code.group(1) if code else "", message.group(1) if message else "")


def s3_error_message(body: str, fallback: str | None) -> str:
    parts = [p for p in s3_error_parts(body) if p]
    return ": ".join(parts) if parts else (fallback or "no message")


def _describe(exc: httpx.TransportError) -> str:
    # The exception's text names the failure, never the URL; keep it that way.
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "S3 did not answer in time"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
