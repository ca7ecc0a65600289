"""Types shared by the upload modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUNDLE_CONTENT_TYPE = "application/zip"


@dataclass(frozen=True, kw_only=True)
class BundleZip:
    """The written zip as the upload sees it (not a file in it: see bundle.files.BundleFile)."""

    path: Path
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Uploaded:
    """Where the bundle is in S3, and how the CLI knows it holds exactly these bytes."""

    bundle_s3_key: str
    md5: str  # of the zip: the ETag S3 gives a single PUT
    uploaded_at: str  # ISO 8601, UTC: when the PUT landed (for a reuse, the earlier one)
    reused: bool = False  # an earlier upload of the same bundle, verified still there


class TargetRejected(Exception):
    """S3 refused the upload URL itself (expired, or a signature that does not match).

    Not a :class:`~mixpeek_cli.errors.MixpeekError`: :func:`mixpeek_cli.upload.upload_bundle`
    answers it by asking for a fresh URL once, and only then fails.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
