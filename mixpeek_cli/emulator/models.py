"""Request and response bodies of the emulated Mixpeek Apps API (the published API, docs/api.md).

Answers carry exactly the published fields: a client that works here must not come to
rely on something the real service never sends. Request models reject bad input the way
the real FastAPI service does, with the standard 422 ``HTTPValidationError``. A
``cli_upload`` deploy without ``bundle_s3_key`` is a 422 of that shape too (``loc:
["body"]``, ``type: "value_error"``): the published schema says the key is required for
that source, and a model validator is where FastAPI services put such cross-field rules.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Environment = Literal["staging", "production"]
DeploySource = Literal["cli_upload", "git"]
DeployStatus = Literal["queued", "building", "complete", "failed"]
FileStatus = Literal["added", "removed", "modified", "unchanged"]
LogType = Literal["runtime", "requests"]
LogLevel = Literal["log", "warn", "error", "info"]


class UploadUrlRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = "application/zip"

    @field_validator("filename")
    @classmethod
    def _a_plain_file_name(cls, value: str) -> str:
        # The name becomes the last part of the S3 key: it must not add or climb folders.
        if "/" in value or "\\" in value or ".." in value:
            raise ValueError("filename must be a plain file name (no '/', '\\' or '..')")
        return value


class UploadUrlResponse(BaseModel):
    upload_url: str
    bundle_s3_key: str
    expires_in: int


class VerifyUploadRequest(BaseModel):
    bundle_s3_key: str


class VerifyUploadResponse(BaseModel):
    bundle_s3_key: str
    exists: bool
    etag: str | None
    size_bytes: int | None
    last_modified: str | None


class DeployRequest(BaseModel):
    message: str
    environment: Environment = "production"
    source: DeploySource = "cli_upload"
    bundle_s3_key: str | None = None
    source_files: dict[str, str] = Field(default_factory=dict)
    git_commit_sha: str | None = None
    git_commit_message: str | None = None
    git_author: str | None = None

    @model_validator(mode="after")
    def _bundle_required_for_uploads(self) -> DeployRequest:
        if self.source == "cli_upload" and not self.bundle_s3_key:
            raise ValueError("bundle_s3_key is required when source is 'cli_upload'")
        return self


class DeployCreated(BaseModel):
    app_id: str
    deploy_id: str
    status: DeployStatus
    environment: str
    message: str | None


class SmokeTestResult(BaseModel):
    passed: bool
    url: str
    errors: list[str]
    duration_ms: float
    tested_at: str


class DeployStatusResponse(BaseModel):
    deploy_id: str
    status: DeployStatus
    environment: str
    source: DeploySource
    bundle_s3_key: str | None
    message: str | None
    queued_at: str
    queued_by: str
    error: str | None
    smoke_test: SmokeTestResult | None


class AppMeta(BaseModel):
    title: str


class App(BaseModel):
    app_id: str
    slug: str
    meta: AppMeta
    created_at: str


class AppList(BaseModel):
    results: list[App]
    max_apps: int | None


class AssetEntry(BaseModel):
    path: str
    hash: str  # sha256 hex of the file's bytes
    size: int


class VersionRecord(BaseModel):
    """One version of an app, as ``GET .../versions`` lists it (names: docs/emulator.md;
    the published API names none)."""

    version: int
    content_hash: str
    message: str | None
    deploy_id: str
    environment: str  # the environment the deploy went to
    environments: list[str]  # the environments it serves now
    source: DeploySource
    git_commit_sha: str | None
    git_commit_message: str | None
    git_author: str | None
    created_at: str
    created_by: str
    asset_manifest: list[AssetEntry]
    source_files_count: int


class VersionList(BaseModel):
    versions: list[VersionRecord]


class FileDiff(BaseModel):
    path: str
    status: FileStatus
    old_hash: str | None
    new_hash: str | None
    old_size: int | None
    new_size: int | None
    size_delta: int


class DiffSummary(BaseModel):
    added: int
    removed: int
    modified: int
    unchanged: int


class VersionDiff(BaseModel):
    app_id: str
    from_version: int
    to_version: int
    files: list[FileDiff]
    summary: DiffSummary
    # Absent (not null) unless both versions have source files.
    source_diff: dict[str, str] | None = None


class VersionDownload(BaseModel):
    download_url: str
    version: int
    asset_prefix: str
    expires_in: int


class RestoreRequest(BaseModel):
    environment: Environment = "production"


class RestoreStarted(BaseModel):
    app_id: str
    version: int
    deploy_id: str
    environment: str
    asset_prefix: str


class RequestLogEntry(BaseModel):
    timestamp: str  # "YYYY-MM-DD HH:MM:SS.mmm", UTC
    method: str
    path: str
    status_code: int
    duration_ms: float
    user_agent: str | None
    ip: str
    environment: str


class RuntimeLogEntry(BaseModel):
    timestamp: str  # "YYYY-MM-DD HH:MM:SS.mmm", UTC
    level: LogLevel
    message: str
    route_path: str | None
    request_id: str


class AppLogs(BaseModel):
    app_id: str
    log_type: LogType
    entries: list[RequestLogEntry] | list[RuntimeLogEntry]


class RuntimeLogSpec(BaseModel):
    """Body of ``POST /_emulator/runtime-logs``."""

    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(min_length=1)
    level: LogLevel = "log"
    message: str
    route_path: str | None = None
    # When it happened (ISO 8601 with an offset; default now): lets a test age an entry.
    timestamp: datetime | None = None

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("timestamp needs a UTC offset (e.g. +00:00)")
        return value


class ErrorDetail(BaseModel):
    message: str
    type: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    success: bool = False
    status: int
    error: ErrorDetail


class ConfigUpdate(BaseModel):
    """Body of ``POST /_emulator/config``; only the fields sent are changed."""

    # A misspelt or retired setting must fail loudly, not leave the emulator as it was.
    model_config = ConfigDict(extra="forbid")

    build_seconds: float | None = Field(default=None, ge=0)
    fail_builds_with: str | None = None
    expired_urls: int | None = Field(default=None, ge=0)
    bad_signature_urls: int | None = Field(default=None, ge=0)
    client_s3_endpoint_url: str | None = None
    api_keys: list[str] | None = None
    upload_url_seconds: int | None = Field(default=None, ge=1)
    stream_enabled: bool | None = None
    stream_cut_after: int | None = Field(default=None, ge=0)
    stream_cuts: int | None = Field(default=None, ge=0)
    stream_stall_after: int | None = Field(default=None, ge=0)
    smoke_test_errors: list[str] | None = None
    unknown_apps: list[str] | None = None


# The settings a null in ``POST /_emulator/config`` resets; elsewhere null means "unchanged".
NULLABLE_SETTINGS = frozenset(
    {
        "fail_builds_with",
        "client_s3_endpoint_url",
        "api_keys",
        "stream_cut_after",
        "stream_stall_after",
        "smoke_test_errors",
        "unknown_apps",
    }
)


class FaultSpec(BaseModel):
    """Body of ``POST /_emulator/faults``.

    ``status`` null means "no error, just ``delay`` then answer normally" (a slow server).
    ``times`` null means the fault never runs out.
    """

    method: str = "*"
    path: str = ".*"
    status: int | None = 503
    body: Any = None
    content_type: str | None = None
    retry_after: float | str | None = None
    delay: float = Field(default=0.0, ge=0)
    times: int | None = Field(default=1, ge=1)

    @field_validator("path")
    @classmethod
    def _path_is_a_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from exc
        return value
