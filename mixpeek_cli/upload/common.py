"""Types shared by the upload paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUNDLE_CONTENT_TYPE = "application/zip"


@dataclass(frozen=True, kw_only=True)
class BundleZip:
    """The written bundle as the upload sees it (not a file inside it: see bundle.BundleFile)."""

    path: Path
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Uploaded:
    bundle_s3_key: str
    already_uploaded: bool


class TargetRejected(Exception):
    """S3 refused the upload target itself (an expired URL or token, a bad signature).

    Not a :class:`~mixpeek_cli.errors.MixpeekError`: :func:`mixpeek_cli.upload.upload_bundle`
    answers it by asking for a fresh target once, and only then fails.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
