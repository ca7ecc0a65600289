"""An app's versions as typed values: the list, one's detail, a diff of two, a download,
a restore, a promote.

The SDK's VersionRecord names the fields (API.md v3); older servers named them otherwise:
each value is looked for under the names below, first match wins (docs/api.md lists
them), and an unknown field never fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mixpeek_cli.errors import ApiError
from mixpeek_cli.service.models import optional_int, presigned_url, text_field

_VERSION_FIELDS: dict[str, tuple[str, ...]] = {
    "message": ("message", "commit_message", "git_commit_message", "description"),
    "git_sha": ("git_commit_sha", "commit_sha", "git_sha", "sha"),
    "who": ("git_author", "author", "created_by", "deployed_by", "queued_by", "user"),
    "when": ("created_at", "deployed_at", "published_at", "timestamp", "queued_at", "time"),
    "environment": ("environment", "env", "target_environment"),
    # ``is_active`` ({environment: bool}) is in a version's detail (GET /versions/{n}).
    "serving": ("is_active", "environments", "serving", "active_environments", "live_environments"),
    "content_hash": ("content_hash", "hash", "sha256", "bundle_sha256"),
    "deploy_id": ("deploy_id",),
}


@dataclass(frozen=True, kw_only=True)
class VersionRecord:
    """One immutable version of an app, read tolerantly (any field but ``version`` may be None)."""

    version: int
    message: str | None = None
    git_sha: str | None = None
    who: str | None = None
    when: str | None = None
    environment: str | None = None  # the environment it was deployed to
    serving: tuple[str, ...] | None = None  # what it serves now; None: the record does not say
    content_hash: str | None = None
    deploy_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _first(data: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = data.get(name)
        if value is not None and value != "":
            return value
    git = data.get("git")
    if isinstance(git, dict):  # a nested {"git": {...}} block
        for name in names:
            short = name.removeprefix("git_").removeprefix("commit_")
            value = git.get(name, git.get(short))
            if value is not None and value != "":
                return value
    return None


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):  # {"name": ..., "email": ...}
        name, email = value.get("name"), value.get("email")
        if isinstance(name, str):
            return f"{name} <{email}>" if isinstance(email, str) else name
    return None


def _version_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _serving(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str))
    if isinstance(value, dict):  # {"production": true, "staging": false}
        return tuple(name for name, on in value.items() if on is True)
    return None


def parse_version(data: Any) -> VersionRecord | None:
    """A version record, or None when it has no usable ``version`` (it cannot be named)."""
    if not isinstance(data, dict):
        return None
    number = _version_number(data.get("version"))
    if number is None:
        return None
    f = _VERSION_FIELDS
    message = _str_or_none(_first(data, f["message"]))
    return VersionRecord(
        version=number,
        message=message.splitlines()[0] if message else None,
        git_sha=_str_or_none(_first(data, f["git_sha"])),
        who=_str_or_none(_first(data, f["who"])),
        when=_str_or_none(_first(data, f["when"])),
        environment=_str_or_none(_first(data, f["environment"])),
        serving=_serving(_first(data, f["serving"])),
        content_hash=_str_or_none(_first(data, f["content_hash"])),
        deploy_id=_str_or_none(_first(data, f["deploy_id"])),
        raw=dict(data),
    )


def parse_versions(data: Mapping[str, Any]) -> list[VersionRecord]:
    """``{"versions": [...]}`` as records, newest (highest number) first."""
    items = data.get("versions")
    if not isinstance(items, list):
        raise ApiError("the API's version list has no 'versions' array")
    records = [r for r in (parse_version(item) for item in items) if r is not None]
    return sorted(records, key=lambda r: r.version, reverse=True)


@dataclass(frozen=True, kw_only=True)
class FileChange:
    path: str
    status: str  # added, removed, modified, unchanged (or whatever the server says)
    old_size: int | None
    new_size: int | None
    size_delta: int | None


@dataclass(frozen=True, kw_only=True)
class VersionDiff:
    from_version: int
    to_version: int
    files: list[FileChange]
    summary: dict[str, int]
    source_diff: dict[str, str]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_diff(data: Mapping[str, Any], *, from_version: int, to_version: int) -> VersionDiff:
    files = data.get("files")
    if not isinstance(files, list):
        raise ApiError("the API's version diff has no 'files' array")
    changes = []
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        old, new = optional_int(item, "old_size"), optional_int(item, "new_size")
        delta = optional_int(item, "size_delta")
        if delta is None and old is not None and new is not None:
            delta = new - old
        status = item.get("status")
        changes.append(
            FileChange(
                path=item["path"],
                status=status if isinstance(status, str) else "modified",
                old_size=old,
                new_size=new,
                size_delta=delta,
            )
        )
    summary = data.get("summary")
    counted = (
        {k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)}
        if isinstance(summary, dict)
        else {}
    )
    sources = data.get("source_diff")
    return VersionDiff(
        from_version=_version_number(data.get("from_version")) or from_version,
        to_version=_version_number(data.get("to_version")) or to_version,
        files=sorted(changes, key=lambda c: c.path),
        summary=counted,
        source_diff=(
            {k: v for k, v in sources.items() if isinstance(v, str)}
            if isinstance(sources, dict)
            else {}
        ),
        raw=dict(data),
    )


@dataclass(frozen=True, kw_only=True)
class VersionDownload:
    download_url: str = field(repr=False)  # its query string is a credential
    version: int
    expires_in: int | None


def parse_download(data: Mapping[str, Any], *, version: int) -> VersionDownload:
    url = presigned_url(data, "download_url", what="download answer")
    return VersionDownload(
        download_url=url,
        version=_version_number(data.get("version")) or version,
        expires_in=optional_int(data, "expires_in"),
    )


@dataclass(frozen=True, kw_only=True)
class Restored:
    app_id: str
    version: int
    deploy_id: str
    environment: str | None


def parse_restore(data: Mapping[str, Any], *, app_id: str, version: int) -> Restored:
    what = "restore answer"
    return Restored(
        app_id=text_field(data, "app_id", required=False, what=what) or app_id,
        version=_version_number(data.get("version")) or version,
        deploy_id=text_field(data, "deploy_id", required=True, what=what) or "",
        environment=text_field(data, "environment", required=False, what=what),
    )


@dataclass(frozen=True, kw_only=True)
class Asset:
    path: str
    size: int | None
    hash: str | None


@dataclass(frozen=True, kw_only=True)
class VersionDetail:
    """``GET /v1/apps/{id}/versions/{n}`` (VersionDetailResponse): the record and more."""

    record: VersionRecord
    git_commit_message: str | None
    deployed_by: str | None
    build_duration_ms: int | None
    assets: list[Asset]  # from asset_manifest, sorted by path
    source_paths: list[str]  # the source files' paths (their text stays in raw)


def parse_version_detail(data: Mapping[str, Any], *, version: int) -> VersionDetail:
    record = parse_version(dict(data)) or parse_version({**data, "version": version})
    if record is None:  # unreachable: the version is given
        raise ApiError("the API's version detail has no version")
    manifest = data.get("asset_manifest")
    assets = []
    if isinstance(manifest, dict):
        for path, entry in manifest.items():
            entry = entry if isinstance(entry, dict) else {}
            digest = entry.get("hash")
            assets.append(
                Asset(
                    path=str(path),
                    size=optional_int(entry, "size"),
                    hash=digest if isinstance(digest, str) else None,
                )
            )
    sources = data.get("source_files")
    paths = sorted(str(p) for p in sources) if isinstance(sources, (dict, list)) else []
    return VersionDetail(
        record=record,
        git_commit_message=_str_or_none(data.get("git_commit_message")),
        deployed_by=_str_or_none(data.get("deployed_by")),
        build_duration_ms=optional_int(data, "build_duration_ms"),
        assets=sorted(assets, key=lambda a: a.path),
        source_paths=paths,
    )


def parse_promote(data: Mapping[str, Any], *, app_id: str) -> Restored:
    """``POST /v1/apps/{id}/promote`` (PromoteResponse): shaped as a restore's answer."""
    what = "promote answer"
    return Restored(
        app_id=text_field(data, "app_id", required=False, what=what) or app_id,
        version=_version_number(data.get("version")) or 0,  # 0: the answer did not say
        deploy_id=text_field(data, "deploy_id", required=True, what=what) or "",
        environment=text_field(data, "environment", required=False, what=what),
    )
