"""Request and response bodies of the emulated Mixpeek deploy API (see /work/shared/API.md).

Request models reject bad input the way the real FastAPI service does: with the standard
422 ``HTTPValidationError``. A ``cli_upload`` deploy without ``bundle_s3_key`` is also a 422
of that shape (``loc: ["body"]``, ``type: "value_error"``), because the published schema
states the key is required for that source and a model validator is where FastAPI
services put such cross-field rules.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

Environment = Literal["staging", "production"]
DeploySource = Literal["cli_upload", "git"]
DeployStatus = Literal["queued", "building", "complete", "failed"]
UploadMode = Literal["presigned", "credentials"]


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


class DeployInfo(DeployCreated):
    error: str | None
    url: str | None
    created_at: str
    updated_at: str


class DeployList(BaseModel):
    results: list[DeployInfo]


class LogsResponse(BaseModel):
    lines: list[str]
    next_offset: int


class UploadRequest(BaseModel):
    filename: str
    file_size_bytes: int = Field(ge=0)
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class UploadCredentials(BaseModel):
    access_key_id: str
    secret_access_key: str
    session_token: str
    bucket: str
    region: str
    endpoint_url: str | None


class UploadResponse(BaseModel):
    upload_id: str
    bundle_s3_key: str
    expires_at: str
    already_uploaded: bool = False
    presigned_url: str | None = None
    headers: dict[str, str] | None = None
    credentials: UploadCredentials | None = None


class ErrorDetail(BaseModel):
    message: str
    type: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    success: bool = False
    status: int
    error: ErrorDetail


class ConfigUpdate(BaseModel):
    """Body of ``POST /_emulator/config``; only the fields sent are changed."""

    build_seconds: float | None = Field(default=None, ge=0)
    upload_mode: UploadMode | None = None
    fail_builds_with: str | None = None
    logs_enabled: bool | None = None
    expired_urls: int | None = Field(default=None, ge=0)
    bad_signature_urls: int | None = Field(default=None, ge=0)
    client_s3_endpoint_url: str | None = None


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
