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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Environment = Literal["staging", "production"]
DeploySource = Literal["cli_upload", "git"]
DeployStatus = Literal["queued", "building", "complete", "failed"]


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


# The settings a null in ``POST /_emulator/config`` resets; elsewhere null means "unchanged".
NULLABLE_SETTINGS = frozenset(
    {
        "fail_builds_with",
        "client_s3_endpoint_url",
        "api_keys",
        "stream_cut_after",
        "stream_stall_after",
        "smoke_test_errors",
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
