"""The FastAPI application: the deploy API of /work/shared/API.md plus ``/_emulator`` controls.

Idempotency follows Stripe: the first successful (2xx) answer to a POST carrying an
``Idempotency-Key`` is stored; the same key with the same method, path and body (compared
after validation, so key order and spelled-out defaults do not matter) gets that stored
answer again and creates nothing; the same key with anything else gets a 422
``IdempotencyError``. Failed requests are not stored, so a retry after an error is handled
afresh.
"""

import asyncio
import functools
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from mixpeek_cli.emulator import storage
from mixpeek_cli.emulator.builder import BuildPlan, start_build
from mixpeek_cli.emulator.models import (
    ConfigUpdate,
    DeployCreated,
    DeployInfo,
    DeployList,
    DeployRequest,
    Environment,
    ErrorDetail,
    ErrorResponse,
    FaultSpec,
    LogsResponse,
    UploadCredentials,
    UploadRequest,
    UploadResponse,
)
from mixpeek_cli.emulator.state import (
    Deploy,
    EmulatorState,
    IdempotencyConflict,
    StoredAnswer,
    iso,
    new_id,
    utc_now,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

UPLOAD_URL_SECONDS = 900
BUNDLE_CONTENT_TYPE = "application/zip"


class ApiError(Exception):
    """Answered as an ``ErrorResponse`` body with this status."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def error_body(status: int, error_type: str, message: str) -> dict[str, Any]:
    detail = ErrorDetail(message=message, type=error_type)
    return ErrorResponse(status=status, error=detail).model_dump()


def require_api_key(authorization: str | None = Header(default=None)) -> None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "AuthenticationError", "Missing or invalid API key")


def create_app(state: EmulatorState, s3: "S3Client | None" = None) -> FastAPI:
    """The emulator's ASGI app over ``state``; ``s3`` defaults to a client for its moto."""
    s3_client = s3 or storage.make_s3_client(state.s3_endpoint_url)
    app = FastAPI(title="Mixpeek deploy API emulator")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.error_type, exc.message), exc.status)

    @app.middleware("http")
    async def _record_and_inject_faults(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        request_id = None
        if path.startswith("/v1/"):
            request_id = state.record_request(await _describe(request))
        answer: Response | None = None
        if not path.startswith("/_emulator"):
            fault = state.take_fault(request.method, path)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    answer = _fault_response(fault)
        if answer is None:
            answer = await call_next(request)
        if request_id is not None:
            state.set_request_status(request_id, answer.status_code)
        return answer

    app.include_router(_api_router(state, s3_client))
    app.include_router(_control_router(state, s3_client))
    return app


async def _describe(request: Request) -> dict[str, Any]:
    raw = await request.body()
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = None
    headers = dict(request.headers)
    if "authorization" in headers:
        scheme = headers["authorization"].partition(" ")[0] or "Bearer"
        headers["authorization"] = f"{scheme} ***"
    return {
        "method": request.method,
        "path": request.url.path,
        "query": dict(request.query_params),
        "headers": headers,
        "json": parsed,
        "body": text,
    }


def _fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 503
    headers = {}
    if fault.retry_after is not None:
        value = fault.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        headers["Retry-After"] = str(value)
    if fault.body is None:
        body = error_body(status, "EmulatedFault", f"fault injected by the emulator ({status})")
        return JSONResponse(body, status, headers=headers)
    if isinstance(fault.body, str):
        media = fault.content_type or "text/plain"
        return Response(fault.body, status, headers=headers, media_type=media)
    return JSONResponse(fault.body, status, headers=headers, media_type=fault.content_type)


def _idempotent(
    state: EmulatorState,
    request: Request,
    key: str | None,
    body: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
) -> JSONResponse:
    if key is None:
        return JSONResponse(produce())
    fingerprint = state.fingerprint(request.method, request.url.path, body)
    # One idempotent request at a time, so concurrent retries of a key cannot both produce.
    with state.idempotency_lock:
        try:
            stored = state.stored_answer(key, fingerprint)
        except IdempotencyConflict as exc:
            raise ApiError(
                422,
                "IdempotencyError",
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with",
            ) from exc
        if stored is None:
            stored = StoredAnswer(fingerprint, 200, produce())
            state.store_answer(key, stored)
    return JSONResponse(stored.body, stored.status_code)


def _api_router(state: EmulatorState, s3: "S3Client") -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])

    # Plain ``def`` handlers run on FastAPI's thread pool, so blocking S3 calls are fine.
    @router.post("/apps/{app_id}/uploads", response_model=UploadResponse)
    def create_upload(
        app_id: str,
        body: UploadRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            # exclude_none: the answer names exactly one way to upload.
            target = _upload_target(state, s3, app_id, body)
            return target.model_dump(mode="json", exclude_none=True)

        return _idempotent(state, request, idempotency_key, body.model_dump(mode="json"), produce)

    @router.post("/apps/{app_id}/deploy", response_model=DeployCreated)
    def create_deploy(
        app_id: str,
        body: DeployRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            return _new_deploy(state, s3, app_id, body).model_dump(mode="json")

        return _idempotent(state, request, idempotency_key, body.model_dump(mode="json"), produce)

    @router.get("/apps/{app_id}/deploys/{deploy_id}", response_model=DeployInfo)
    def get_deploy(app_id: str, deploy_id: str) -> DeployInfo:
        info = state.get_deploy(app_id, deploy_id)
        if info is None:
            raise ApiError(404, "NotFoundError", f"Deploy {deploy_id} not found")
        return info

    @router.get("/apps/{app_id}/deploys/{deploy_id}/logs", response_model=LogsResponse)
    def get_logs(app_id: str, deploy_id: str, offset: int = Query(default=0, ge=0)) -> LogsResponse:
        if not state.config.logs_enabled:
            raise ApiError(404, "NotFoundError", "Build logs are not available")
        lines = state.deploy_logs(app_id, deploy_id, offset)
        if lines is None:
            raise ApiError(404, "NotFoundError", f"Deploy {deploy_id} not found")
        return LogsResponse(lines=lines, next_offset=offset + len(lines))

    @router.get("/apps/{app_id}/deploys", response_model=DeployList)
    def list_deploys(
        app_id: str,
        limit: int = Query(default=20, ge=1, le=100),
        environment: Environment | None = None,
    ) -> DeployList:
        return DeployList(results=state.list_deploys(app_id, environment, limit))

    return router


def _upload_target(
    state: EmulatorState, s3: "S3Client", app_id: str, body: UploadRequest
) -> UploadResponse:
    key = f"apps/{app_id}/bundles/{body.content_sha256}.zip"
    config = state.config
    answer = UploadResponse(
        upload_id=new_id("upl"),
        bundle_s3_key=key,
        expires_at=iso(utc_now() + timedelta(seconds=UPLOAD_URL_SECONDS)),
        already_uploaded=storage.holds_bundle(
            s3, state.bucket, key, body.file_size_bytes, body.content_sha256, state.verified
        ),
    )
    endpoint = config.client_s3_endpoint_url or state.s3_endpoint_url
    if config.upload_mode == "credentials":
        answer.credentials = UploadCredentials(
            access_key_id=storage.ACCESS_KEY_ID,
            secret_access_key=storage.SECRET_ACCESS_KEY,
            session_token=storage.SESSION_TOKEN,
            bucket=state.bucket,
            region=storage.REGION,
            endpoint_url=endpoint,
        )
    else:
        # Signed for the host the client will reach (moto, or a proxy in front of it).
        signer = s3 if endpoint == state.s3_endpoint_url else _signer(endpoint)
        fault = state.take_url_fault()
        # Content-Type is signed, so the client must send exactly the header we return.
        url = signer.generate_presigned_url(
            "put_object",
            Params={"Bucket": state.bucket, "Key": key, "ContentType": BUNDLE_CONTENT_TYPE},
            # Signed in the same second, a broken URL and its fresh replacement would be
            # identical; a different lifetime keeps their signatures apart.
            ExpiresIn=UPLOAD_URL_SECONDS - (1 if fault else 0),
        )
        if fault is not None:
            state.break_url(parse_qs(urlsplit(url).query)["X-Amz-Signature"][0], fault)
        answer.presigned_url = url
        answer.headers = {"Content-Type": BUNDLE_CONTENT_TYPE}
    return answer


@functools.lru_cache(maxsize=8)
def _signer(endpoint_url: str) -> "S3Client":
    return storage.make_s3_client(endpoint_url)


def _new_deploy(
    state: EmulatorState, s3: "S3Client", app_id: str, body: DeployRequest
) -> DeployCreated:
    now = utc_now()
    deploy = Deploy(
        app_id=app_id,
        deploy_id=f"dep_{secrets.token_hex(8)}",
        environment=body.environment,
        message=body.message,
        request=body.model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    state.add_deploy(deploy)
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
    )
    start_build(state, s3, plan)
    return DeployCreated(
        app_id=app_id,
        deploy_id=deploy.deploy_id,
        status="queued",
        environment=body.environment,
        message=body.message,
    )


def _control_router(state: EmulatorState, s3: "S3Client") -> APIRouter:
    router = APIRouter(prefix="/_emulator", tags=["emulator controls"])

    @router.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "bucket": state.bucket, "s3_endpoint_url": state.s3_endpoint_url}

    @router.get("/config")
    def get_config() -> dict[str, Any]:
        return state.config_dict()

    @router.post("/config")
    def set_config(update: ConfigUpdate) -> dict[str, Any]:
        changes = {name: getattr(update, name) for name in update.model_fields_set}
        # Only these may be reset to null; null elsewhere means "leave as is".
        nullable = ("fail_builds_with", "client_s3_endpoint_url")
        changes = {k: v for k, v in changes.items() if v is not None or k in nullable}
        state.configure(**changes)
        return state.config_dict()

    @router.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return state.faults()

    @router.post("/faults")
    def add_fault(spec: FaultSpec) -> dict[str, Any]:
        state.add_fault_spec(spec)
        return {"faults": state.faults()}

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        state.clear_faults()
        return {"faults": []}

    @router.get("/multipart-uploads")
    def multipart_uploads() -> dict[str, Any]:
        return {"uploads": storage.multipart_uploads(s3, state.bucket)}

    @router.get("/requests")
    def list_requests() -> list[dict[str, Any]]:
        return state.requests

    @router.delete("/requests")
    def clear_requests() -> dict[str, Any]:
        state.clear_requests()
        return {"requests": []}

    return router
