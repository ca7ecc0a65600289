"""``/_emulator/*``: the test controls, outside ``/v1``, with no auth, never faulted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mixpeek_cli.emulator.app_logs import log_timestamp
from mixpeek_cli.emulator.models import (
    NULLABLE_SETTINGS,
    AppSpec,
    ConfigUpdate,
    FaultSpec,
    RuntimeLogSpec,
)
from mixpeek_cli.emulator.records import RuntimeLog
from mixpeek_cli.emulator.sites import site_url
from mixpeek_cli.emulator.state import EmulatorState


def control_router(state: EmulatorState) -> APIRouter:
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
        changes = {k: v for k, v in changes.items() if v is not None or k in NULLABLE_SETTINGS}
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

    @router.get("/requests")
    def list_requests() -> list[dict[str, Any]]:
        return state.requests

    @router.delete("/requests")
    def clear_requests() -> dict[str, Any]:
        state.clear_requests()
        return {"requests": []}

    @router.get("/s3-requests")
    def list_s3_requests() -> list[dict[str, Any]]:
        return state.s3_requests

    @router.delete("/s3-requests")
    def clear_s3_requests() -> dict[str, Any]:
        state.clear_s3_requests()
        return {"s3_requests": []}

    @router.get("/site-requests")
    def list_site_requests() -> list[dict[str, Any]]:
        return state.site_requests

    @router.delete("/site-requests")
    def clear_site_requests() -> dict[str, Any]:
        state.clear_site_requests()
        return {"site_requests": []}

    @router.get("/runtime-logs")
    def list_runtime_logs() -> list[dict[str, Any]]:
        return [_runtime_log(entry) for entry in state.runtime_logs()]

    @router.post("/runtime-logs")
    def add_runtime_log(spec: RuntimeLogSpec) -> dict[str, Any]:
        entry = state.add_runtime_log(
            spec.app_id, spec.level, spec.message, spec.route_path, timestamp=spec.timestamp
        )
        return _runtime_log(entry)

    @router.delete("/runtime-logs")
    def clear_runtime_logs() -> dict[str, Any]:
        state.clear_runtime_logs()
        return {"runtime_logs": []}

    @router.put("/apps/{app_id}")
    def set_app(app_id: str, spec: AppSpec) -> dict[str, Any]:
        state.set_app(app_id, **spec.model_dump())
        app = state.app(app_id)
        return app.model_dump(mode="json") if app is not None else {"app_id": app_id}

    @router.get("/sites")
    def list_sites() -> list[dict[str, Any]]:
        return [
            {
                **site.summary(),
                "slug": state.slug_of(site.app_id),
                "url": site_url(state.api_base_url, state.slug_of(site.app_id), site.environment),
            }
            for site in state.sites.all()
        ]

    return router


def _runtime_log(entry: RuntimeLog) -> dict[str, Any]:
    """An entry as ``GET .../logs?log_type=runtime`` shows it, with its app id."""
    return {
        "app_id": entry.app_id,
        "timestamp": log_timestamp(entry.timestamp),
        "level": entry.level,
        "message": entry.message,
        "route_path": entry.route_path,
        "request_id": entry.request_id,
    }
