"""Move the bundle to S3 and say under which key it landed.

Three ways, chosen by :func:`upload_bundle`:

* your own bucket (``--bucket``): :mod:`.own_bucket`, no call to the uploads endpoint;
* a presigned URL from the API: :mod:`.presigned`, one streamed PUT;
* temporary credentials from the API: :mod:`.s3`, boto3's managed transfer.

An upload target S3 refuses as expired or badly signed is replaced once by a fresh one
from the uploads endpoint. This package imports neither httpx nor boto3 until it uploads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mixpeek_cli.errors import UploadError
from mixpeek_cli.reporter import Reporter, track
from mixpeek_cli.upload.common import BundleZip, TargetRejected, Uploaded

if TYPE_CHECKING:
    from mixpeek_cli.api import Trace, UploadTarget
    from mixpeek_cli.settings import Settings

__all__ = ["BundleZip", "Uploaded", "upload_bundle"]


def upload_bundle(
    bundle: BundleZip,
    *,
    settings: Settings,
    app_id: str,
    request_target: Callable[[], UploadTarget],
    reporter: Reporter,
    trace: Trace | None = None,
) -> Uploaded:
    """Upload ``bundle``; return once the store confirmed it holds exactly these bytes.

    ``request_target`` asks the uploads endpoint for a target (called once, or twice when
    the first is refused as expired); it is not called with your own bucket. ``trace``
    (``--verbose``) gets one line per S3 request, signatures and tokens masked.
    """
    if settings.bundle_bucket:
        from mixpeek_cli.upload.own_bucket import upload_to_own_bucket

        try:
            return upload_to_own_bucket(
                bundle, settings=settings, app_id=app_id, reporter=reporter, trace=trace
            )
        except TargetRejected as exc:  # your own credentials: nothing to renew them from
            raise UploadError(
                f"S3 refused the upload: {exc.cause}",
                hint="refresh your AWS credentials (e.g. aws sso login) and retry",
            ) from None
    target = request_target()
    renewed = False
    while True:
        if target.already_uploaded:
            reporter.info("bundle already uploaded: skipping the upload")
            return Uploaded(bundle_s3_key=target.bundle_s3_key, already_uploaded=True)
        try:
            _upload_to_target(target, bundle, settings, reporter, trace)
        except TargetRejected as exc:
            if renewed:
                raise UploadError(
                    f"S3 refused the bundle upload twice: {exc.cause}",
                    hint="check the machine's clock (upload URLs are time-limited), "
                    "then retry the deploy",
                ) from None
            reporter.warn(f"S3 refused the upload: {exc.cause}; asking for a fresh upload target")
            target = request_target()
            renewed = True
            continue
        return Uploaded(bundle_s3_key=target.bundle_s3_key, already_uploaded=False)


def _upload_to_target(
    target: UploadTarget,
    bundle: BundleZip,
    settings: Settings,
    reporter: Reporter,
    trace: Trace | None,
) -> None:
    if target.presigned_url:
        from mixpeek_cli.upload.presigned import put_presigned

        with track(reporter, "Uploading", bundle.size, "bytes") as task:
            put_presigned(
                target.presigned_url, target.headers, bundle.path, bundle.size, task, trace=trace
            )
        return
    creds = target.credentials
    if creds is None:  # parse_upload_target guarantees one of them
        raise UploadError("the upload target names no way to upload")
    from mixpeek_cli.upload import s3
    from mixpeek_cli.upload.plan import plan_transfer

    plan = plan_transfer(bundle.size, settings.multipart_threshold)
    client = s3.make_client(
        credentials=creds,
        endpoint_url=creds.endpoint_url,
        checksums=settings.s3_checksums,
        max_pool=max(10, plan.concurrency),
        trace=trace,
    )
    with track(reporter, "Uploading", bundle.size, "bytes") as task:
        expected = s3.upload_file(
            client,
            bucket=creds.bucket,
            key=target.bundle_s3_key,
            path=bundle.path,
            size=bundle.size,
            plan=plan,
            checksums=settings.s3_checksums,
            task=task,
        )
    s3.verify_upload(
        client,
        bucket=creds.bucket,
        key=target.bundle_s3_key,
        size=bundle.size,
        expected_etag=expected,
        reporter=reporter,
    )
