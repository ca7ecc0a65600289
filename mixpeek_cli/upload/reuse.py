"""The record of where a bundle's bytes were last uploaded, kept in the re-deploy cache.

Every upload-url call gives a new key, so the service cannot tell that a bundle was
uploaded before; the CLI remembers it instead: for one (base URL, app id), the key a
bundle with this sha256 and size was uploaded under, the zip's MD5 and when. Before
reusing the key the CLI asks verify-upload whether the object is still exactly that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

NAME_PREFIX = "upload-"


def record_name(base_url: str, app_id: str) -> str:
    """The record's name: one per API and app, so no key is offered to another app."""
    digest = hashlib.sha256(f"{base_url}\n{app_id}".encode()).hexdigest()[:16]
    return f"{NAME_PREFIX}{digest}"


@dataclass(frozen=True, kw_only=True)
class PreviousUpload:
    base_url: str
    app_id: str
    bundle_s3_key: str
    size: int
    md5: str
    uploaded_at: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")


def decode(data: bytes, *, base_url: str, app_id: str, size: int) -> PreviousUpload | None:
    """The record in ``data`` if it is for this API, app and zip size; else None."""
    try:
        raw: Any = json.loads(data)
        record = PreviousUpload(**raw)
    except (ValueError, TypeError):
        return None
    fields_ok = (
        isinstance(record.bundle_s3_key, str)
        and record.bundle_s3_key
        and isinstance(record.md5, str)
        and isinstance(record.uploaded_at, str)
    )
    same = (record.base_url, record.app_id, record.size) == (base_url, app_id, size)
    return record if fields_ok and same else None
