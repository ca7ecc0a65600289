"""The FastAPI application: the published Apps API (docs/api.md), ``/_emulator`` controls,
and in front of both the deployed sites (``*.localhost`` hosts, see ``site_server``).

The deploy pipeline is here; versions, restores and app logs are in ``history_api``.
The POSTs that create something (upload-url, deploy, restore) honour ``Idempotency-Key``
(see ``idempotency``); verify-upload is a read and is always answered afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from mixpeek_cli.emulator import storage
from mixpeek_cli.emulator.admin_controls import admin_control_router
from mixpeek_cli.emulator.apps_admin import add_app_admin_routes
from mixpeek_cli.emulator.builder import BuildPlan, start_build
from mixpeek_cli.emulator.controls import control_router
from mixpeek_cli.emulator.domains_api import add_domain_routes
from mixpeek_cli.emulator.errors import ApiError, error_body, not_found
from mixpeek_cli.emulator.health_api import add_health_routes
from mixpeek_cli.emulator.history_api import add_history_routes
from mixpeek_cli.emulator.idempotency import idempotent
from mixpeek_cli.emulator.logstream import log_stream
from mixpeek_cli.emulator.middleware import RecordAndFault
from mixpeek_cli.emulator.models import (
    App,
    AppList,
    DeployCreated,
    DeployRequest,
    DeployStatusResponse,
    UploadUrlRequest,
    UploadUrlResponse,
    VerifyUploadRequest,
    VerifyUploadResponse,
)
from mixpeek_cli.emulator.records import Deploy, new_id, utc_now
from mixpeek_cli.emulator.repo_api import add_repo_routes
from mixpeek_cli.emulator.site_server import SiteRouter
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.emulator.team_api import add_team_routes
from mixpeek_cli.emulator.uploads import Signers, upload_url, verify_upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def create_app(state: EmulatorState, s3: S3Client | None = None) -> FastAPI:
    """The emulator's ASGI app over ``state``; ``s3`` defaults to a client for its moto."""
    s3_client = s3 or storage.make_s3_client(state.s3_endpoint_url)
    app = FastAPI(title="Mixpeek Apps API emulator")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = error_body(exc.status, exc.error_type, exc.message, exc.code, exc.details)
        return JSONResponse(body, exc.status)

    app.add_middleware(RecordAndFault, state=state)
    # Added last, so outermost: site requests never reach the API, its auth, faults or log.
    app.add_middleware(SiteRouter, state=state)
    app.include_router(_api_router(state, s3_client))
    app.include_router(control_router(state))
    app.include_router(admin_control_router(state))
    return app


def _auth(state: EmulatorState) -> Callable[[str | None], None]:
    def require_api_key(authorization: str | None = Header(default=None)) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        # 403, not 401: UnauthorizedError is the published type for auth failures.
        if scheme.lower() != "bearer" or not token:
            raise ApiError(403, "UnauthorizedError", "Missing or malformed API key")
        keys = state.config.api_keys
        if keys is not None and token not in keys:
            raise ApiError(403, "UnauthorizedError", "Invalid API key")

    return require_api_key


def _api_router(state: EmulatorState, s3: S3Client) -> APIRouter:
    def see_app(request: Request) -> None:
        app_id = request.path_params.get("app_id")
        if app_id is not None:
            state.see_app(app_id)

    router = APIRouter(prefix="/v1", dependencies=[Depends(_auth(state)), Depends(see_app)])
    signers = Signers(s3, state.s3_endpoint_url)

    # Plain ``def`` handlers run on FastAPI's thread pool, so blocking S3 calls are fine.
    @router.post("/apps/{app_id}/deploy/upload-url", response_model=UploadUrlResponse)
    def create_upload_url(
        app_id: str,
        body: UploadUrlRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            return upload_url(state, signers, app_id, body).model_dump(mode="json")

        return idempotent(state, request, idempotency_key, body.model_dump(mode="json"), produce)

    @router.post("/apps/{app_id}/deploy/verify-upload", response_model=VerifyUploadResponse)
    def check_upload(app_id: str, body: VerifyUploadRequest) -> VerifyUploadResponse:
        return verify_upload(state, s3, app_id, body)

    @router.post("/apps/{app_id}/deploy", response_model=DeployCreated)
    def create_deploy(
        app_id: str,
        body: DeployRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            return _new_deploy(state, s3, app_id, body).model_dump(mode="json")

        return idempotent(state, request, idempotency_key, body.model_dump(mode="json"), produce)

    @router.get("/apps/{app_id}/deploys/{deploy_id}", response_model=DeployStatusResponse)
    def get_deploy(app_id: str, deploy_id: str) -> DeployStatusResponse:
        answer = state.get_deploy(app_id, deploy_id)
        if answer is None:
            raise not_found(f"Deploy {deploy_id}", "deploy_not_found")
        return answer

    @router.get(
        "/apps/{app_id}/deploys/{deploy_id}/logs/stream", response_class=EventSourceResponse
    )
    async def stream_logs(app_id: str, deploy_id: str) -> EventSourceResponse:
        return log_stream(state, app_id, deploy_id)

    @router.get("/apps/{app_id}", response_model=App)
    def get_app(app_id: str) -> App:
        app = state.app(app_id)
        if app is None:
            raise not_found(f"App {app_id}", "app_not_found")
        return app

    @router.get("/apps", response_model=AppList)
    def list_apps(
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
        slug: str | None = Query(default=None),
        search: str | None = Query(default=None),
    ) -> AppList:
        apps = state.apps()
        if slug is not None:
            apps = [app for app in apps if app.slug == slug]
        if search:
            # "name, partial": the title, case-insensitive (docs/emulator.md).
            apps = [app for app in apps if search.casefold() in app.meta.title.casefold()]
        return AppList(
            results=apps[offset : offset + limit],
            total_count=len(apps),
            limit=limit,
            offset=offset,
            max_apps=state.config.max_apps,
        )

    add_history_routes(router, state, signers)
    add_domain_routes(router, state)
    add_repo_routes(router, state)
    add_team_routes(router, state)
    add_health_routes(router, state)
    add_app_admin_routes(router, state)
    return router


def _new_deploy(
    state: EmulatorState, s3: S3Client, app_id: str, body: DeployRequest
) -> DeployCreated:
    deploy = Deploy(
        app_id=app_id,
        deploy_id=new_id("dep"),
        environment=body.environment,
        source=body.source,
        bundle_s3_key=body.bundle_s3_key,
        message=body.message,
        request=body.model_dump(mode="json"),
        queued_at=utc_now(),
    )
    state.add_deploy(deploy)
    # Read once, when the deploy is created: changing settings never alters a running build.
    config = state.config
    plan = BuildPlan(
        app_id=app_id,
        deploy_id=deploy.deploy_id,
        environment=body.environment,
        source=body.source,
        bundle_s3_key=body.bundle_s3_key,
        git_commit_sha=body.git_commit_sha,
        build_seconds=config.build_seconds,
        fail_with=config.fail_builds_with,
        smoke_test_errors=config.smoke_test_errors,
    )
    start_build(state, s3, plan)
    return DeployCreated(
        app_id=app_id,
        deploy_id=deploy.deploy_id,
        status="queued",
        environment=body.environment,
        message=body.message,
    )
