"""The plain records ``EmulatorState`` keeps: settings, deploys and their log, faults, answers."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mixpeek_cli.emulator.models import (
    DeploySource,
    DeployStatus,
    DeployStatusResponse,
    FaultSpec,
    LogLevel,
    SmokeTestResult,
)

# Never the caller's key: the real field names a user, and the key is a secret.
QUEUED_BY = "emulator"
FINAL_STATUSES: frozenset[str] = frozenset({"complete", "failed"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    # "+00:00" rather than "Z": datetime.fromisoformat only reads "Z" from Python 3.11 on.
    return moment.isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class EmulatorConfig:
    build_seconds: float = 2.0
    fail_builds_with: str | None = None
    # The next N presigned URLs handed out fail: "Request has expired" / SignatureDoesNotMatch.
    expired_urls: int = 0
    bad_signature_urls: int = 0
    # Where presigned URLs point (default: moto): e.g. a test's proxy.
    client_s3_endpoint_url: str | None = None
    # None: any non-empty bearer key is accepted.
    api_keys: list[str] | None = None
    upload_url_seconds: int = 3600
    stream_enabled: bool = True
    # The next ``stream_cuts`` log streams are closed after this many log events, without done.
    stream_cut_after: int | None = None
    stream_cuts: int = 1
    # Every log stream goes silent after this many log events (never done) while set.
    stream_stall_after: int | None = None
    # Complete deploys report a failed smoke test with these errors.
    smoke_test_errors: list[str] | None = None
    # GET /v1/apps/{app_id} answers 404 for these ids (and GET /v1/apps leaves them out).
    unknown_apps: list[str] | None = None
    # The tier's limit of apps (GET /v1/apps's max_apps): POST /v1/apps past it is a 400
    # with limit and count in details. None: unlimited.
    max_apps: int | None = None


@dataclass
class AppRecord:
    """What the emulator knows of an app beyond its id (``/_emulator/apps`` sets it)."""

    created: datetime
    updated: datetime = field(default_factory=utc_now)
    title: str | None = None  # None: the app id
    description: str | None = None
    is_active: bool = True
    env_vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    # Set by POST /v1/apps and a PATCH of the slug; None: the app id's slug form
    # (``sites.app_slug``), for an app first seen in a call.
    slug: str | None = None
    # build_config's keys other than env_vars and secrets (api_allow, asset_prefix, ...).
    build_other: dict[str, Any] = field(default_factory=dict)
    auth_config: dict[str, Any] | None = None
    monitoring_config: dict[str, Any] | None = None


@dataclass(frozen=True)
class LogLine:
    ts: float  # wall-clock epoch seconds, as the published stream sends
    line: str


@dataclass
class Deploy:
    app_id: str
    deploy_id: str
    environment: str
    source: DeploySource
    bundle_s3_key: str | None
    message: str | None
    request: dict[str, Any]
    queued_at: datetime
    status: DeployStatus = "queued"
    error: str | None = None
    smoke_test: SmokeTestResult | None = None
    logs: list[LogLine] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def answer(self) -> DeployStatusResponse:
        return DeployStatusResponse(
            deploy_id=self.deploy_id,
            status=self.status,
            environment=self.environment,
            source=self.source,
            bundle_s3_key=self.bundle_s3_key,
            message=self.message,
            queued_at=iso(self.queued_at),
            queued_by=QUEUED_BY,
            error=self.error,
            smoke_test=self.smoke_test.model_copy() if self.smoke_test else None,
        )


@dataclass(frozen=True)
class RuntimeLog:
    """One entry of an app's runtime log (what its server functions would print)."""

    app_id: str
    timestamp: datetime
    level: LogLevel
    message: str
    route_path: str | None
    request_id: str


@dataclass
class Fault:
    spec: FaultSpec
    pattern: re.Pattern[str]
    remaining: int | None

    def matches(self, method: str, path: str) -> bool:
        wanted = self.spec.method.upper()
        return wanted in ("*", method.upper()) and self.pattern.search(path) is not None


@dataclass
class StoredAnswer:
    """What a POST answered under an Idempotency-Key, and what it was asked."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class SignedUrl:
    """What the emulator signed into a presigned URL it handed out."""

    content_type: str
    # "expired" / "signature": refused however fresh (the expired_urls / bad_signature_urls
    # controls); None: judged like any presigned URL.
    broken: str | None


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""
