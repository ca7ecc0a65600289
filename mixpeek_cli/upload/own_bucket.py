"""Your own bucket: boto3's default credential chain, a content-addressed key, no API call.

The key is ``{prefix}{app_id}/{sha256}.zip`` and the object carries its SHA-256 in its
metadata (``x-amz-meta-sha256``), so an object already there with the same size and the
same recorded SHA-256 is the same bundle: the upload is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixpeek_cli.errors import UploadError
from mixpeek_cli.reporter import Reporter, track
from mixpeek_cli.settings import Settings
from mixpeek_cli.upload.common import BundleZip, Uploaded
from mixpeek_cli.upload.plan import plan_transfer

if TYPE_CHECKING:
    from mixpeek_cli.api import Trace

SHA256_METADATA = "sha256"


def bundle_key(prefix: str, app_id: str, sha256: str) -> str:
    return f"{prefix}{app_id}/{sha256}.zip"


def upload_to_own_bucket(
    bundle: BundleZip,
    *,
    settings: Settings,
    app_id: str,
    reporter: Reporter,
    trace: Trace | None = None,
) -> Uploaded:
    from mixpeek_cli.upload import s3

    bucket = settings.bundle_bucket
    assert bucket, "upload_to_own_bucket needs settings.bundle_bucket"
    key = bundle_key(settings.s3_prefix, app_id, bundle.sha256)
    plan = plan_transfer(bundle.size, settings.multipart_threshold)
    client = s3.make_client(
        credentials=None,
        endpoint_url=settings.s3_endpoint_url,
        checksums=settings.s3_checksums,
        max_pool=max(10, plan.concurrency),
        trace=trace,
    )
    head = s3.head_object(client, bucket, key)
    if (
        head is not None
        and head.get("ContentLength") == bundle.size
        and head.get("Metadata", {}).get(SHA256_METADATA) == bundle.sha256
    ):
        reporter.info(f"bundle already in s3://{bucket}/{key}: skipping the upload")
        return Uploaded(bundle_s3_key=key, already_uploaded=True)
    with track(reporter, "Uploading", bundle.size, "bytes") as task:
        expected = s3.upload_file(
            client,
            bucket=bucket,
            key=key,
            path=bundle.path,
            size=bundle.size,
            plan=plan,
            checksums=settings.s3_checksums,
            task=task,
            metadata={SHA256_METADATA: bundle.sha256},
        )
    try:
        s3.verify_upload(
            client,
            bucket=bucket,
            key=key,
            size=bundle.size,
            expected_etag=expected,
            reporter=reporter,
        )
    except UploadError as exc:
        # The object's metadata claims this SHA-256: left in place, the next deploy would
        # take it for the good bundle and skip the upload.
        if not s3.delete_object(client, bucket, key):
            exc.hint = f"delete s3://{bucket}/{key} (its bytes are wrong), then retry the deploy"
        raise
    return Uploaded(bundle_s3_key=key, already_uploaded=False)
