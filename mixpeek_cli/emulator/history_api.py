"""The published "apps, versions, recovery" calls: versions, their diffs, downloads and
restores, and the running app's logs (docs/emulator.md has every field).

They are added to the ``/v1`` router, so they share its auth and its request log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from mixpeek_cli.emulator.app_logs import app_logs
from mixpeek_cli.emulator.errors import not_found
from mixpeek_cli.emulator.idempotency import idempotent
from mixpeek_cli.emulator.models import (
    AppLogs,
    LogLevel,
    LogType,
    RestoreRequest,
    RestoreStarted,
    VersionDetail,
    VersionDiff,
    VersionDownload,
    VersionList,
)
from mixpeek_cli.emulator.restore import promote_staging, restore_version
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.emulator.uploads import Signers
from mixpeek_cli.emulator.versions import Version, asset_prefix, diff

# The published answer's expires_in.
DOWNLOAD_URL_SECONDS = 3600


def add_history_routes(router: APIRouter, state: EmulatorState, signers: Signers) -> None:
    def known(app_id: str, number: int) -> Version:
        version = state.version(app_id, number)
        if version is None:
            raise not_found(f"Version {number} of app {app_id}", "version_not_found")
        return version

    @router.get("/apps/{app_id}/versions", response_model=VersionList)
    def list_versions(app_id: str) -> VersionList:
        versions = state.versions(app_id)
        return VersionList(versions=versions, total=len(versions))

    @router.get("/apps/{app_id}/versions/{version}", response_model=VersionDetail)
    def show_version(app_id: str, version: int) -> VersionDetail:
        detail = state.version_detail(app_id, version)
        if detail is None:
            raise not_found(f"Version {version} of app {app_id}", "version_not_found")
        return detail

    @router.get("/apps/{app_id}/versions/{version}/diff/{to_version}", response_model=VersionDiff)
    def diff_versions(app_id: str, version: int, to_version: int) -> JSONResponse:
        answer = diff(app_id, known(app_id, version), known(app_id, to_version))
        body = answer.model_dump(mode="json")
        if answer.source_diff is None:
            # Absent, not null: only there when both versions have source files.
            del body["source_diff"]
        return JSONResponse(body)

    # Plain ``def``: presigning builds a request with boto3, off the event loop.
    @router.get("/apps/{app_id}/versions/{version}/download", response_model=VersionDownload)
    def download_version(app_id: str, version: int) -> VersionDownload:
        found = known(app_id, version)
        if found.bundle_s3_key is None:
            raise not_found(f"Bundle of version {version} of app {app_id}")
        # Signed for the host the client will reach, as upload URLs are.
        endpoint = state.config.client_s3_endpoint_url or state.s3_endpoint_url
        url = signers.for_endpoint(endpoint).generate_presigned_url(
            "get_object",
            Params={"Bucket": state.bucket, "Key": found.bundle_s3_key},
            ExpiresIn=DOWNLOAD_URL_SECONDS,
        )
        return VersionDownload(
            download_url=url,
            version=version,
            asset_prefix=asset_prefix(app_id, version),
            expires_in=DOWNLOAD_URL_SECONDS,
        )

    @router.post("/apps/{app_id}/versions/{version}/restore", response_model=RestoreStarted)
    def restore(
        app_id: str,
        version: int,
        request: Request,
        body: RestoreRequest | None = None,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        # No body is the default body: both mean production.
        asked = body or RestoreRequest()

        def produce() -> dict[str, Any]:
            return restore_version(state, app_id, version, asked).model_dump(mode="json")

        return idempotent(state, request, idempotency_key, asked.model_dump(mode="json"), produce)

    @router.post("/apps/{app_id}/promote", response_model=RestoreStarted)
    def promote(
        app_id: str, request: Request, idempotency_key: str | None = Header(default=None)
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            return promote_staging(state, app_id).model_dump(mode="json")

        return idempotent(state, request, idempotency_key, {}, produce)

    @router.get("/apps/{app_id}/logs", response_model=AppLogs)
    def get_logs(
        app_id: str,
        log_type: LogType = Query(default="runtime"),
        hours: int = Query(default=1, ge=1, le=168),
        level: LogLevel | None = Query(default=None),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> AppLogs:
        return app_logs(state, app_id, log_type, hours, level, limit)
