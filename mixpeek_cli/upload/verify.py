"""Judge a ``verify-upload`` answer: is the object at the key exactly this zip?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixpeek_cli.errors import UploadError
from mixpeek_cli.upload.digest import plain_md5_etag

if TYPE_CHECKING:
    from mixpeek_cli.service.models import UploadCheck


def difference(check: UploadCheck, *, size: int, md5: str) -> str | None:
    """What differs between the object S3 holds and the zip, or None when nothing does.

    The ETag is compared only when it is a plain MD5 (a single PUT, no KMS): any other
    form is no hash of the bytes.
    """
    if not check.exists:
        return "S3 holds no object at that key"
    if check.size_bytes != size:
        held = "an unknown number of" if check.size_bytes is None else str(check.size_bytes)
        return f"S3 holds {held} bytes there, the zip has {size}"
    etag = plain_md5_etag(check.etag)
    if etag is not None and etag != md5:
        return f"the object's ETag is {etag}, the zip's MD5 is {md5}"
    return None


def check_landed(check: UploadCheck | None, *, key: str, size: int, md5: str) -> None:
    """Raise :class:`UploadError` unless the upload landed whole.

    ``None`` (a server without verify-upload) passes: the PUT's 200 and its ETag, checked
    against the same MD5, were then the proof.
    """
    if check is None:
        return
    found = difference(check, size=size, md5=md5)
    if found is not None:
        raise UploadError(
            f"the upload did not land as sent: {found} ({key})",
            hint="retry the deploy; if it repeats, something between you and S3 alters uploads",
        )
