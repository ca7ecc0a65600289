"""Move the bundle to S3 the published way and prove it landed; say under which key.

1. ``POST .../deploy/upload-url``, asked right before the PUT (the URL expires);
2. one streamed ``PUT`` of the zip to that URL (:mod:`.presigned`), retried from byte 0
   on network errors; a URL S3 refuses as expired or badly signed is replaced once;
3. ``POST .../deploy/verify-upload``: the object must exist with the zip's size and,
   when its ETag is a plain MD5, the zip's MD5 (:mod:`.verify`).

A bundle uploaded before (:mod:`.reuse`) is verified instead of uploaded again. This
package imports httpx only when it uploads.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from mixpeek_cli.errors import UploadError
from mixpeek_cli.output.reporter import Reporter, track
from mixpeek_cli.upload.common import BundleZip, TargetRejected, Uploaded
from mixpeek_cli.upload.digest import plain_md5_etag
from mixpeek_cli.upload.reuse import PreviousUpload
from mixpeek_cli.upload.verify import check_landed, difference

if TYPE_CHECKING:
    from mixpeek_cli.deadline import Deadline
    from mixpeek_cli.service.client import Trace
    from mixpeek_cli.service.models import UploadCheck, UploadUrl

__all__ = ["BundleZip", "PreviousUpload", "UploadApi", "Uploaded", "upload_bundle"]


class UploadApi(Protocol):
    """The two calls of the API an upload needs (:class:`mixpeek_cli.service.client.ApiClient`)."""

    def get_upload_url(self, app_id: str) -> UploadUrl: ...

    def verify_upload(self, app_id: str, bundle_s3_key: str) -> UploadCheck | None: ...


def upload_bundle(
    bundle: BundleZip,
    *,
    api: UploadApi,
    app_id: str,
    reporter: Reporter,
    previous: PreviousUpload | None = None,
    trace: Trace | None = None,
    deadline: Deadline | None = None,
) -> Uploaded:
    """Upload ``bundle`` (or reuse ``previous``); return once it is known to be in S3 whole."""
    if previous is not None:
        reused = _reuse(previous, bundle, api, app_id, reporter, trace)
        if reused is not None:
            return reused
    from mixpeek_cli.upload.presigned import check_single_put, put_presigned

    check_single_put(bundle.size)  # before asking for a URL: nothing to ask for
    target = api.get_upload_url(app_id)
    renewed = False
    while True:
        try:
            with track(reporter, "Uploading", bundle.size, "bytes") as task:
                md5 = put_presigned(
                    target.upload_url,
                    bundle.path,
                    bundle.size,
                    task,
                    trace=trace,
                    deadline=deadline,
                )
        except TargetRejected as exc:
            if renewed:
                raise UploadError(
                    f"S3 refused the bundle upload twice: {exc.cause}",
                    hint="check the machine's clock (upload URLs are time-limited), "
                    "then retry the deploy",
                ) from None
            reporter.warn(f"S3 refused the upload: {exc.cause}; asking for a fresh upload URL")
            target = api.get_upload_url(app_id)
            renewed = True
            continue
        break
    landed_at = _now()
    check = api.verify_upload(app_id, target.bundle_s3_key)
    if check is None and trace is not None:
        trace("verify-upload is not offered (404/405): the PUT's 200 and ETag are the check")
    check_landed(check, key=target.bundle_s3_key, size=bundle.size, md5=md5)
    return Uploaded(bundle_s3_key=target.bundle_s3_key, md5=md5, uploaded_at=landed_at)


def _reuse(
    previous: PreviousUpload,
    bundle: BundleZip,
    api: UploadApi,
    app_id: str,
    reporter: Reporter,
    trace: Trace | None,
) -> Uploaded | None:
    """``previous`` as the upload, if verify-upload says the object is still exactly it."""
    check = api.verify_upload(app_id, previous.bundle_s3_key)
    reason: str | None
    if check is None:
        reason = "the server cannot verify it (no verify-upload)"
    else:
        reason = difference(check, size=bundle.size, md5=previous.md5)
        # Reuse needs the MD5 itself: a size alone could belong to other bytes.
        if reason is None and plain_md5_etag(check.etag) != previous.md5:
            reason = "its ETag is no MD5 to compare"
    if reason is not None:
        if trace is not None:
            trace(f"not reusing the earlier upload of this bundle: {reason}")
        return None
    reporter.info(f"bundle unchanged: reusing the upload from {_shown(previous.uploaded_at)}")
    return Uploaded(
        bundle_s3_key=previous.bundle_s3_key,
        md5=previous.md5,
        uploaded_at=previous.uploaded_at,
        reused=True,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _shown(moment: str) -> str:
    """An ISO 8601 UTC time in the local zone, to the second."""
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
