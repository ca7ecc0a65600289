"""``/_emulator/apps/{app_id}/...``: the test controls of domains, the GitHub App, the
team and analytics (no auth, never faulted; docs/emulator.md lists them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from mixpeek_cli.emulator.admin_models import DomainOutcome, ErrorSpec, GithubSpec, VitalSpec
from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.state import EmulatorState


def admin_control_router(state: EmulatorState) -> APIRouter:
    router = APIRouter(prefix="/_emulator/apps/{app_id}", tags=["emulator controls"])
    admin = state.admin

    @router.post("/domains/{domain}")
    def settle_domain(app_id: str, domain: str, body: DomainOutcome) -> dict[str, Any]:
        """Ends the DNS checks: the domain's answer afterwards."""
        return admin.domains.settle(app_id, domain.lower(), body.outcome).answer().model_dump()

    @router.put("/github")
    def set_github(app_id: str, body: GithubSpec) -> dict[str, Any]:
        admin.repos.set_installed(app_id, body.installed)
        return {"app_id": app_id, "installed": body.installed}

    @router.post("/invitations/{invitation_id}/accept")
    def accept(app_id: str, invitation_id: str) -> dict[str, Any]:
        """The invited person joins: the new member, as ``GET .../users`` shows it."""
        return admin.team.accept(app_id, invitation_id).answer().model_dump()

    @router.post("/errors")
    def add_error(app_id: str, body: ErrorSpec) -> dict[str, Any]:
        at = body.timestamp or utc_now()
        admin.health.add_error(app_id, body.error_type, body.error_message, body.url, at=at)
        return {"app_id": app_id, "timestamp": iso(at)}

    @router.post("/vitals")
    def add_vital(app_id: str, body: VitalSpec) -> dict[str, Any]:
        at = body.timestamp or utc_now()
        admin.health.add_vital(app_id, body.metric_name, body.value, at=at)
        return {"app_id": app_id, "timestamp": iso(at)}

    return router
