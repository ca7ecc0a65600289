"""``/_emulator/*``: the test controls, outside ``/v1``, with no auth, never faulted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mixpeek_cli.emulator.models import NULLABLE_SETTINGS, ConfigUpdate, FaultSpec
from mixpeek_cli.emulator.sites import app_slug, site_url
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

    @router.get("/sites")
    def list_sites() -> list[dict[str, Any]]:
        return [
            {
                **site.summary(),
                "slug": app_slug(site.app_id),
                "url": site_url(state.api_base_url, app_slug(site.app_id), site.environment),
            }
            for site in state.sites.all()
        ]

    return router
