"""The API's answers as typed values, parsed tolerantly: unknown fields are ignored,
missing optional ones are ``None``, and a missing required one is an :class:`ApiError`.

Field names are the published ones (docs/api.md); nothing here reads a field the
published API does not name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mixpeek_cli.errors import ApiError

FINAL_STATUSES = frozenset({"complete", "failed"})


@dataclass(frozen=True, kw_only=True)
class UploadUrl:
    """``POST .../deploy/upload-url``: where to PUT the zip, and the key to deploy it under."""

    upload_url: str
    bundle_s3_key: str
    expires_in: int | None

    def __repr__(self) -> str:  # the URL's query string is a credential
        return f"UploadUrl(bundle_s3_key={self.bundle_s3_key!r}, expires_in={self.expires_in!r})"


@dataclass(frozen=True, kw_only=True)
class UploadCheck:
    """``POST .../deploy/verify-upload``: what a server-side HEAD of the object saw."""

    bundle_s3_key: str
    exists: bool
    etag: str | None
    size_bytes: int | None
    last_modified: str | None


@dataclass(frozen=True, kw_only=True)
class SmokeTest:
    """``SmokeTestResult``: the service's check of the deployed site."""

    passed: bool
    url: str | None
    errors: list[str]
    duration_ms: float | None
    tested_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "url": self.url,
            "errors": self.errors,
            "duration_ms": self.duration_ms,
            "tested_at": self.tested_at,
        }


@dataclass(frozen=True, kw_only=True)
class DeployInfo:
    """A deploy: the answer to its creation, or a ``DeployStatusResponse``."""

    app_id: str
    deploy_id: str
    status: str
    environment: str | None
    message: str | None
    error: str | None = None
    source: str | None = None
    bundle_s3_key: str | None = None
    queued_at: str | None = None
    queued_by: str | None = None
    smoke_test: SmokeTest | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True, kw_only=True)
class AppInfo:
    """``GET /v1/apps/{app_id}``: the fields the CLI uses (the site's URL comes from ``slug``)."""

    app_id: str
    slug: str | None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class LogLine:
    """One build log event: ``{"ts": <epoch seconds>, "line": "..."}``."""

    line: str
    ts: float | None = None


def text_field(data: Mapping[str, Any], key: str, *, required: bool, what: str) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ApiError(f"the API's {what} has no valid {key!r}")
    return value


def optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_upload_url(data: Mapping[str, Any]) -> UploadUrl:
    what = "upload-url answer"
    url = text_field(data, "upload_url", required=True, what=what) or ""
    if not url.startswith(("https://", "http://")):
        raise ApiError("the API's upload-url answer has no http(s) 'upload_url'")
    return UploadUrl(
        upload_url=url,
        bundle_s3_key=text_field(data, "bundle_s3_key", required=True, what=what) or "",
        expires_in=optional_int(data, "expires_in"),
    )


def parse_upload_check(data: Mapping[str, Any], *, key: str) -> UploadCheck:
    exists = data.get("exists")
    if not isinstance(exists, bool):
        raise ApiError("the API's verify-upload answer has no valid 'exists'")
    etag = data.get("etag")
    modified = data.get("last_modified")
    return UploadCheck(
        bundle_s3_key=text_field(data, "bundle_s3_key", required=False, what="verify answer")
        or key,
        exists=exists,
        etag=etag if isinstance(etag, str) else None,
        size_bytes=optional_int(data, "size_bytes"),
        last_modified=modified if isinstance(modified, str) else None,
    )


def parse_deploy(data: Mapping[str, Any], *, app_id: str) -> DeployInfo:
    what = "deploy answer"
    return DeployInfo(
        app_id=text_field(data, "app_id", required=False, what=what) or app_id,
        deploy_id=text_field(data, "deploy_id", required=True, what=what) or "",
        status=text_field(data, "status", required=True, what=what) or "",
        environment=text_field(data, "environment", required=False, what=what),
        message=text_field(data, "message", required=False, what=what),
        error=_error_text(data.get("error")),
        source=text_field(data, "source", required=False, what=what),
        bundle_s3_key=text_field(data, "bundle_s3_key", required=False, what=what),
        queued_at=text_field(data, "queued_at", required=False, what=what),
        queued_by=text_field(data, "queued_by", required=False, what=what),
        smoke_test=parse_smoke_test(data.get("smoke_test")),
    )


def _error_text(value: Any) -> str | None:
    """The status's ``error``: a string as published, but an object's message will do."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return str(value["message"])
    return json.dumps(value, ensure_ascii=False)


def parse_smoke_test(value: Any) -> SmokeTest | None:
    if not isinstance(value, dict) or not isinstance(value.get("passed"), bool):
        return None
    errors = value.get("errors")
    duration = value.get("duration_ms")
    url = value.get("url")
    tested = value.get("tested_at")
    return SmokeTest(
        passed=value["passed"],
        url=url if isinstance(url, str) else None,
        errors=[str(e) for e in errors] if isinstance(errors, list) else [],
        duration_ms=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        tested_at=tested if isinstance(tested, str) else None,
    )


def parse_app(data: Mapping[str, Any], *, app_id: str) -> AppInfo:
    slug = data.get("slug")
    meta = data.get("meta")
    title = meta.get("title") if isinstance(meta, dict) else None
    return AppInfo(
        app_id=text_field(data, "app_id", required=False, what="app") or app_id,
        slug=slug if isinstance(slug, str) and slug else None,
        title=title if isinstance(title, str) else None,
        extra=dict(data),
    )


def parse_log_data(data: str) -> list[LogLine]:
    """The log lines of one SSE message.

    The published events carry one JSON object each; a server that puts several
    ``data:`` lines in one event (SSE joins them with newlines) gives several lines,
    and a data line that is not JSON is shown as it is rather than lost.
    """
    lines: list[LogLine] = []
    for piece in data.split("\n"):
        if not piece.strip():
            continue
        try:
            entry = json.loads(piece)
        except ValueError:
            lines.append(LogLine(piece))
            continue
        if isinstance(entry, dict) and isinstance(entry.get("line"), str):
            ts = entry.get("ts")
            when = float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else None
            lines.append(LogLine(entry["line"], when))
        elif isinstance(entry, str):
            lines.append(LogLine(entry))
        elif not isinstance(entry, dict):
            lines.append(LogLine(piece))
        # An object without a "line" (a keep-alive, metadata) is no log line.
    return lines


# -- apps, versions, recovery ----------------------------------------------------------
#
# The version record's field names are not published: each value is looked for under the
# names below, first match wins (docs/api.md lists them), and an unknown field never fails.

_VERSION_FIELDS: dict[str, tuple[str, ...]] = {
    "message": ("message", "commit_message", "git_commit_message", "description"),
    "git_sha": ("git_commit_sha", "commit_sha", "git_sha", "sha"),
    "who": ("git_author", "author", "created_by", "deployed_by", "queued_by", "user"),
    "when": ("created_at", "deployed_at", "published_at", "timestamp", "queued_at", "time"),
    "environment": ("environment", "env", "target_environment"),
    "serving": ("environments", "serving", "active_environments", "live_environments"),
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
    download_url: str
    version: int
    expires_in: int | None

    def __repr__(self) -> str:  # the URL's query string is a credential
        return f"VersionDownload(version={self.version!r})"


def parse_download(data: Mapping[str, Any], *, version: int) -> VersionDownload:
    url = text_field(data, "download_url", required=True, what="download answer") or ""
    if not url.startswith(("https://", "http://")):
        raise ApiError("the API's download answer has no http(s) 'download_url'")
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


def parse_apps(data: Mapping[str, Any]) -> list[AppInfo]:
    items = data.get("results")
    if not isinstance(items, list):
        raise ApiError("the API's app list has no 'results' array")
    apps = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("app_id"), str) and item["app_id"]:
            apps.append(parse_app(item, app_id=item["app_id"]))
    return apps


def parse_log_entries(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The running app's log entries (their fields are shown as they come)."""
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise ApiError("the API's log answer has no 'entries' array")
    return [entry for entry in entries if isinstance(entry, dict)]
