"""The API's answers as typed values, parsed tolerantly: unknown fields are ignored,
missing optional ones are ``None``, and a missing required one is an :class:`ApiError`.

Field names are the published ones (docs/api.md); nothing here reads a field the
published API does not name. The version records, whose field names are not published,
are in :mod:`mixpeek_cli.service.versions`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mixpeek_cli.errors import ApiError
from mixpeek_cli.loopback import is_loopback

FINAL_STATUSES = frozenset({"complete", "failed"})


@dataclass(frozen=True, kw_only=True)
class UploadUrl:
    """``POST .../deploy/upload-url``: where to PUT the zip, and the key to deploy it under."""

    upload_url: str = field(repr=False)  # its query string is a credential
    bundle_s3_key: str
    expires_in: int | None


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
    """``GET /v1/apps/{app_id}`` (AppResponse): the fields the CLI uses.

    ``url`` is the service's canonical production URL, used only when it passes
    :func:`mixpeek_cli.service.urls.trusted_url`; ``environments`` says what each
    environment serves (its inner fields are not typed: read by ``history/live.py``).
    """

    app_id: str
    slug: str | None
    title: str | None = None
    url: str | None = None
    environments: dict[str, Any] | None = None
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


def presigned_url(data: Mapping[str, Any], key: str, *, what: str) -> str:
    """``data[key]`` if it is a URL the CLI may send bytes to: ``https://``, or plain
    ``http://`` to this machine (the emulator), the base URL's rule. Anything else (plain
    http to another host, a private or link-local address such as 169.254.169.254 where
    cloud metadata lives) is refused before any connection is made."""
    url = text_field(data, key, required=True, what=what) or ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or not host or parts.scheme not in ("https", "http"):
        raise ApiError(f"the API's {what} has no http(s) {key!r}", hint=_URL_HINT)
    if parts.scheme == "http" and not is_loopback(host):
        # Shown without the URL: its query string is a credential.
        raise ApiError(
            f"the API's {what} gives a plain-http {key!r} on {host}: refused", hint=_URL_HINT
        )
    if parts.scheme == "https" and _internal_address(host):
        # S3 is reached by name; an internal address literal is a server trying to make
        # this machine knock on its neighbours (or the cloud's metadata service).
        raise ApiError(f"the API's {what} points {key!r} at {host}: refused", hint=_URL_HINT)
    return url


def _internal_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global and not address.is_loopback


_URL_HINT = "nothing was sent there; check --base-url: it must be Mixpeek's API or the emulator"


def parse_upload_url(data: Mapping[str, Any]) -> UploadUrl:
    what = "upload-url answer"
    url = presigned_url(data, "upload_url", what=what)
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
    url, environments = data.get("url"), data.get("environments")
    return AppInfo(
        app_id=text_field(data, "app_id", required=False, what="app") or app_id,
        slug=slug if isinstance(slug, str) and slug else None,
        title=title if isinstance(title, str) else None,
        url=url if isinstance(url, str) and url else None,
        environments=environments if isinstance(environments, dict) else None,
        extra=dict(data),
    )


# A log line longer than this is shown cut, with how much was left out: a server's
# megabytes-long "line" must not flood the terminal or the memory.
MAX_LOG_LINE = 64 << 10


def parse_log_data(data: str, *, cut_bytes: int = 0) -> list[LogLine]:
    """The log lines of one SSE message.

    The published events carry one JSON object each; a server that puts several
    ``data:`` lines in one event (SSE joins them with newlines) gives several lines,
    and a data line that is not JSON is shown as it is rather than lost. ``cut_bytes``
    of the event were over the stream reader's caps: its last line says so.
    """
    lines = [_capped(line, 0) for line in _log_lines(data)]
    if cut_bytes and lines:
        lines[-1] = _capped(lines[-1], cut_bytes)
    elif cut_bytes:
        lines.append(LogLine(f"[a log event of {cut_bytes} bytes was not shown]"))
    return lines


def _capped(entry: LogLine, cut_bytes: int) -> LogLine:
    text = entry.line
    over = max(0, len(text) - MAX_LOG_LINE)
    if not over and not cut_bytes:
        return entry
    more = f"{over} characters" if not cut_bytes else f"{over + cut_bytes} bytes or more"
    return LogLine(f"{text[:MAX_LOG_LINE]}... [{more} of this line not shown]", entry.ts)


def _log_lines(data: str) -> list[LogLine]:
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


def apps_total(data: Mapping[str, Any]) -> int | None:
    """``total_count`` of a ``GET /v1/apps`` page: how many apps match, over all pages."""
    return optional_int(data, "total_count")


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
    """The running app's log entries (their fields are shown as they come): ``results``,
    the platform's list envelope, else ``entries``, its deprecated alias."""
    entries = data.get("results")
    if not isinstance(entries, list):
        entries = data.get("entries")
    if not isinstance(entries, list):
        raise ApiError("the API's log answer has no 'results' array")
    return [entry for entry in entries if isinstance(entry, dict)]
