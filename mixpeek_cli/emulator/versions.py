"""App versions: what a complete upload deploy leaves behind, and how two of them differ.

A version is answered as the SDK's VersionRecord (``version``, ``asset_prefix``,
``asset_manifest`` {path: {s3_key, hash, size}}, ``deployed_by``, ``deployed_at``,
``environment``, ``build_duration_ms``, ``message``, ``source_files``, git fields). The
content hash is the emulator's own (the service publishes none): only its restore log
line shows it.

A version keeps the site files it published, so a restore publishes them again without
reading S3, the bundle's key, so a download hands out that zip, and the deploy's source
files, so a diff can show what changed in the source. Records never change once made:
which environments a version serves is worked out from the published sites when asked.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mixpeek_cli.emulator.models import (
    AssetEntry,
    DiffSummary,
    FileDiff,
    FileStatus,
    VersionDetail,
    VersionDiff,
    VersionRecord,
)
from mixpeek_cli.emulator.records import QUEUED_BY, iso

# Never the caller's key, as for queued_by.
CREATED_BY = QUEUED_BY
# What git prints after a last line that has no newline: keeps the patch appliable.
_NO_NEWLINE = "\n\\ No newline at end of file\n"
_STATUSES: tuple[FileStatus, ...] = ("added", "removed", "modified", "unchanged")


@dataclass(frozen=True)
class Asset:
    path: str
    hash: str  # sha256 hex of the bytes
    size: int


def manifest(files: Mapping[str, bytes]) -> tuple[Asset, ...]:
    """Every file of a site with its sha256 and size, sorted by path."""
    return tuple(
        Asset(path, hashlib.sha256(files[path]).hexdigest(), len(files[path]))
        for path in sorted(files)
    )


def content_hash(assets: tuple[Asset, ...]) -> str:
    """sha256 hex of the sorted ``"<path>\\0<sha256 of its bytes>\\n"`` lines, joined.

    It names the published content alone: the same files give the same hash, whatever
    the zip's order, compression or timestamps.
    """
    lines = sorted(f"{asset.path}\0{asset.hash}\n" for asset in assets)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def asset_prefix(app_id: str, version: int) -> str:
    return f"app-assets/{app_id}/v{version}/"


@dataclass(frozen=True)
class Version:
    app_id: str
    version: int
    deploy_id: str
    environment: str  # where its deploy went
    message: str | None
    git_commit_sha: str | None
    git_commit_message: str | None
    git_author: str | None
    created_at: datetime
    build_duration_ms: int | None  # from queued to complete
    bundle_s3_key: str | None
    files: Mapping[str, bytes]  # the published site, read-only
    source_files: Mapping[str, str]  # path -> text, read-only; empty when none were sent
    assets: tuple[Asset, ...]
    content_hash: str

    def record(self) -> VersionRecord:
        prefix = asset_prefix(self.app_id, self.version)
        return VersionRecord(
            version=self.version,
            asset_prefix=prefix,
            asset_manifest={
                a.path: AssetEntry(s3_key=prefix + a.path, hash=a.hash, size=a.size)
                for a in self.assets
            },
            deployed_by=CREATED_BY,
            deployed_at=iso(self.created_at),
            environment=self.environment,
            build_duration_ms=self.build_duration_ms,
            message=self.message,
            source_files=dict(self.source_files),
            git_commit_sha=self.git_commit_sha,
            git_commit_message=self.git_commit_message,
            git_author=self.git_author,
        )

    def detail(self, serving: list[str], environments: tuple[str, ...]) -> VersionDetail:
        """The record and, for every environment, whether it serves this version now."""
        return VersionDetail(
            **self.record().model_dump(),
            is_active={env: env in serving for env in environments},
        )


def diff(app_id: str, old: Version, new: Version) -> VersionDiff:
    """What changed from ``old`` to ``new``: every file of either, and the source."""
    before = {asset.path: asset for asset in old.assets}
    after = {asset.path: asset for asset in new.assets}
    files = [
        _file_diff(path, before.get(path), after.get(path)) for path in sorted({*before, *after})
    ]
    counts = {status: sum(f.status == status for f in files) for status in _STATUSES}
    source_diff = None
    # Only when both sides have source: against nothing, every file would look added.
    if old.source_files and new.source_files:
        source_diff = source_patches(old.source_files, new.source_files)
    return VersionDiff(
        app_id=app_id,
        from_version=old.version,
        to_version=new.version,
        files=files,
        summary=DiffSummary(**counts),
        source_diff=source_diff,
    )


def _file_diff(path: str, old: Asset | None, new: Asset | None) -> FileDiff:
    status: FileStatus
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "unchanged" if old.hash == new.hash else "modified"
    return FileDiff(
        path=path,
        status=status,
        old_hash=old.hash if old else None,
        new_hash=new.hash if new else None,
        old_size=old.size if old else None,
        new_size=new.size if new else None,
        # Against nothing for an added or removed file: how the total size moved.
        size_delta=(new.size if new else 0) - (old.size if old else 0),
    )


def source_patches(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """A unified diff (``a/<path>`` -> ``b/<path>``) per source path added, removed or changed."""
    patches = {}
    for path in sorted({*old, *new}):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = difflib.unified_diff(
            _patch_lines(before or ""),
            _patch_lines(after or ""),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
        patches[path] = "".join(lines)
    return patches


def _patch_lines(text: str) -> list[str]:
    """``text`` as lines that each end in ``\\n``, split on ``\\n`` only (a ``\\r`` stays part
    of its line, as in git); a last line without one carries git's "No newline" marker, so
    the joined diff is a valid patch and "x" differs from "x\\n"."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1] + _NO_NEWLINE)
    return lines
