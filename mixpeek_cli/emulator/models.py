"""Request and response bodies of the emulated Mixpeek Apps API (the published API, docs/api.md).

Answers carry exactly the fields of the service's own SDK models (``mixpeek`` 1.3.783, the
contract's oracle in tests/sdk_oracle.py): a client that works here must not come to rely
on something the real service never sends. Request models reject bad input the way the
real FastAPI service does, with the standard 422 ``HTTPValidationError``: a key the
model does not declare is ``extra_forbidden``, and types are strict (``"1"`` is not an
int, ``1`` is not a string), as the live service has refused both since 2026-11-02. A
``cli_upload`` deploy without ``bundle_s3_key`` is a 422 of that shape too (``loc:
["body"]``, ``type: "value_error"``): the published schema says the key is required for
that source, and a model validator is where FastAPI services put such cross-field rules.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

Environment = Literal["staging", "production"]
DeploySource = Literal["cli_upload", "git"]
DeployStatus = Literal["queued", "building", "complete", "failed"]
FileStatus = Literal["added", "removed", "modified", "unchanged"]
LogType = Literal["runtime", "requests"]
LogLevel = Literal["log", "warn", "error", "info"]


# What every request body model says: only declared keys, no type coercion.
STRICT_BODY = ConfigDict(extra="forbid", strict=True)


class UploadUrlRequest(BaseModel):
    model_config = STRICT_BODY

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
    model_config = STRICT_BODY

    bundle_s3_key: str


class VerifyUploadResponse(BaseModel):
    bundle_s3_key: str
    exists: bool
    etag: str | None
    size_bytes: int | None
    last_modified: str | None


# DeployRequest's default message, as the SDK's model spells it.
DEFAULT_DEPLOY_MESSAGE = "Deploy via bundle upload"


class DeployRequest(BaseModel):
    model_config = STRICT_BODY

    message: str = DEFAULT_DEPLOY_MESSAGE
    environment: Environment = "production"
    source: DeploySource = "cli_upload"
    bundle_s3_key: str | None = None
    source_files: dict[str, str] | None = None
    git_commit_sha: str | None = None
    git_commit_message: str | None = None
    git_author: str | None = None

    @field_validator("message", "environment", "source", mode="before")
    @classmethod
    def _null_is_the_default(cls, value: Any, info: ValidationInfo) -> Any:
        # As the SDK's from_dict reads a null: the field's default.
        return cls.model_fields[info.field_name or ""].default if value is None else value

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
    duration_ms: int  # an int in the SDK's SmokeTestResult
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
    description: str | None = None


class ApiAllowRule(BaseModel):
    """The SDK's ApiAllowRule: one widening of the ``/api`` proxy's allowlist."""

    model_config = STRICT_BODY

    methods: list[str] | None = None
    pattern: str


class BuildConfig(BaseModel):
    """The SDK's BuildConfig, as answered: ``secrets`` values always ``***``. Also the
    request's ``build_config`` (strict); the legacy keys only when they were sent."""

    model_config = STRICT_BODY

    env_vars: dict[str, str] | None = None
    secrets: dict[str, str] | None = None
    asset_prefix: str | None = None
    api_allow: list[ApiAllowRule] | None = None
    entry: str | None = None
    framework: Literal["react"] | None = None
    tailwind: bool | None = None


class EnvironmentServing(BaseModel):
    """What one environment serves (``AppResponse.environments[env]``; the SDK types it
    ``Dict[str, Any]``: these inner names are assumed, docs/emulator.md)."""

    deploy_id: str
    asset_prefix: str
    version: int


class AssetEntry(BaseModel):
    s3_key: str
    hash: str  # sha256 hex of the file's bytes
    size: int


class VersionRecord(BaseModel):
    """One version of an app: the SDK's VersionRecord (the fields the emulator has)."""

    version: int
    asset_prefix: str
    asset_manifest: dict[str, AssetEntry]  # path -> entry
    deployed_by: str
    deployed_at: str
    environment: str  # the environment the deploy went to
    build_duration_ms: int | None
    message: str | None
    source_files: dict[str, str]
    git_commit_sha: str | None
    git_commit_message: str | None
    git_author: str | None


class VersionDetail(VersionRecord):
    """The SDK's VersionDetailResponse: which environments serve this version now."""

    is_active: dict[str, bool]


class VersionList(BaseModel):
    versions: list[VersionRecord]
    total: int


class AppListItem(BaseModel):
    """The SDK's AppListItem (``GET /v1/apps``'s results)."""

    app_id: str
    slug: str
    url: str
    meta: AppMeta
    is_active: bool
    version: int
    template: str
    custom_domains: list[dict[str, Any]]
    build_config: BuildConfig | None
    auth_config: dict[str, Any] | None = None
    monitoring_config: dict[str, Any] | None = None
    repo_url: str | None = None  # the connected GitHub repository (emulator/repo_api.py)
    repo_branch: str | None = None
    environments: dict[str, EnvironmentServing]
    created_at: str
    updated_at: str


class App(AppListItem):
    """The SDK's AppResponse (``GET /v1/apps/{app_id}``): the list item and the legacy
    page fields it requires, empty, and the app's versions."""

    sections: list[dict[str, Any]]
    custom_html: str | None
    hero: dict[str, Any] | None
    theme: dict[str, Any]
    seo: dict[str, Any] | None
    stats: list[dict[str, Any]]
    featured_gallery: dict[str, Any] | None
    tabs: list[dict[str, Any]]
    password_protected: bool
    versions: list[VersionRecord]


class AppList(BaseModel):
    results: list[AppListItem]
    total_count: int
    limit: int
    offset: int
    max_apps: int | None


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
    model_config = STRICT_BODY

    environment: Environment = "production"

    @field_validator("environment", mode="before")
    @classmethod
    def _null_is_production(cls, value: Any) -> Any:
        return "production" if value is None else value


class RestoreStarted(BaseModel):
    """A restore's answer; a promote's too (the SDK's PromoteResponse has the same fields)."""

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
    results: list[RequestLogEntry] | list[RuntimeLogEntry]
    # The SDK's deprecated alias of ``results``, the same entries.
    entries: list[RequestLogEntry] | list[RuntimeLogEntry]


class Stamped(BaseModel):
    """A ``/_emulator`` control's body that records something at a moment."""

    # A misspelt field must fail loudly, not leave the emulator as it was.
    model_config = ConfigDict(extra="forbid")

    # When it happened (ISO 8601 with an offset; default now): lets a test age it.
    timestamp: datetime | None = None

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("timestamp needs a UTC offset (e.g. +00:00)")
        return value


class RuntimeLogSpec(Stamped):
    """Body of ``POST /_emulator/runtime-logs``."""

    app_id: str = Field(min_length=1)
    level: LogLevel = "log"
    message: str
    route_path: str | None = None


class AppSpec(BaseModel):
    """Body of ``PUT /_emulator/apps/{app_id}``: what its answers show (null: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    description: str | None = None
    is_active: bool | None = None
    env_vars: dict[str, str] | None = None
    # Answered masked (``***``), never as set.
    secrets: dict[str, str] | None = None


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None  # left out of the answer when None
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
    max_apps: int | None = Field(default=None, ge=0)


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
        "max_apps",
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
