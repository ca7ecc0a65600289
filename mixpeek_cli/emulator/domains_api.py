"""The published domains calls: ``GET/POST /v1/apps/{id}/domains``,
``POST .../domains/{domain}/verify``, ``DELETE .../domains/{domain}`` (``domain_store``
keeps them). Added to the ``/v1`` router: its auth and request log apply.
"""

from __future__ import annotations

from fastapi import APIRouter

from mixpeek_cli.emulator.admin_models import (
    AddDomainRequest,
    Deleted,
    DomainList,
    DomainResponse,
)
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.state import EmulatorState

# Where a custom domain's CNAME points [sdk: CustomDomainConfig's example].
CNAME_SUFFIX = ".mxp.co"


def cname_target(state: EmulatorState, app_id: str) -> str:
    """``{slug}.mxp.co`` of the app; 404 when there is no such app."""
    app = state.app(app_id)
    if app is None:
        raise not_found(f"App {app_id}", "app_not_found")
    return f"{app.slug}{CNAME_SUFFIX}"


def _checked(domain: str) -> str:
    name = domain.strip().lower()
    labels = name.split(".")
    if len(labels) < 2 or not all(labels) or any(c in name for c in "/:@ *_"):
        raise ApiError(400, "BadRequestError", f"{domain!r} is not a valid domain", "bad_domain")
    return name


def add_domain_routes(router: APIRouter, state: EmulatorState) -> None:
    domains = state.admin.domains

    @router.get("/apps/{app_id}/domains", response_model=DomainList)
    def list_domains(app_id: str) -> DomainList:
        found = [record.answer() for record in domains.of_app(app_id)]
        return DomainList(domains=found, total=len(found))

    @router.post("/apps/{app_id}/domains", response_model=DomainResponse)
    def add_domain(app_id: str, body: AddDomainRequest) -> DomainResponse:
        target = cname_target(state, app_id)
        added = domains.add(
            app_id, _checked(body.domain), primary=body.is_primary, cname_target=target
        )
        return added.answer()

    @router.post("/apps/{app_id}/domains/{domain}/verify", response_model=DomainResponse)
    def verify_domain(app_id: str, domain: str) -> DomainResponse:
        return domains.verify(app_id, domain.lower()).answer()

    @router.delete("/apps/{app_id}/domains/{domain}", response_model=Deleted)
    def remove_domain(app_id: str, domain: str) -> Deleted:
        domains.remove(app_id, domain.lower())
        return Deleted(message=f"Domain {domain.lower()} removed")
