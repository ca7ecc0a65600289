"""Apps made, changed and deleted: ``POST /v1/apps``, ``PATCH`` and ``DELETE
/v1/apps/{app_id}`` (docs/emulator.md, "Apps: create, change, delete").

* create: the slug's published rule (the body model: 3-60 characters,
  ``^[a-z0-9][a-z0-9-]*[a-z0-9]$``, else 422), not a reserved word (400), not another
  app's (409 ``AlreadyExistsError``), within the ``max_apps`` setting (400 with
  ``limit`` and ``count`` in ``details``). ``Idempotency-Key`` honoured, as on the
  other creating POSTs.
* PATCH, as docs/api.md assumes for the service ("How a PATCH changes a map"): only the
  keys sent change; ``build_config.env_vars`` and ``build_config.secrets`` are each
  replaced whole by the map sent, the rest of ``build_config`` and of the app stays; a
  secret sent as ``***`` keeps its stored value (400 when it has none). ``dry_run=true``
  checks everything, the slug's freedom included, and writes nothing.
* DELETE frees the slug at once and stops the app's sites.

Secrets are answered masked (``***``) everywhere, by ``state``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from mixpeek_cli.emulator.app_requests import CreateAppRequest, UpdateAppRequest
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.idempotency import idempotent
from mixpeek_cli.emulator.models import App, BuildConfig
from mixpeek_cli.emulator.records import AppRecord, new_id, utc_now
from mixpeek_cli.emulator.state import MASKED, EmulatorState, SlugTaken, TierLimit

# Names a slug may not take [assumed]: the service's own hosts, and labels that would read
# as another environment of some app (``staging-{slug}``, ``pr-{N}-{slug}``).
RESERVED_SLUGS = frozenset(
    {"www", "api", "app", "apps", "admin", "dashboard", "docs", "mixpeek", "staging", "status"}
)
_ENVIRONMENT_LABEL = re.compile(r"staging-.+|pr-[0-9]+-.+")


def add_app_admin_routes(router: APIRouter, state: EmulatorState) -> None:
    @router.post("/apps", response_model=App)
    def create_app(
        body: CreateAppRequest,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        def produce() -> dict[str, Any]:
            return _create(state, body).model_dump(mode="json")

        return idempotent(state, request, idempotency_key, body.model_dump(mode="json"), produce)

    @router.patch("/apps/{app_id}", response_model=App)
    def update_app(
        app_id: str, body: UpdateAppRequest, dry_run: bool = Query(default=False)
    ) -> App:
        _existing(state, app_id)
        if body.slug is not None:
            _check_reserved(body.slug)
        try:
            state.change_app(app_id, lambda record: _apply(record, body), dry_run=dry_run)
        except SlugTaken:
            raise _taken(body.slug or "") from None
        except KeyError:
            raise not_found(f"App {app_id}", "app_not_found") from None
        return _existing(state, app_id)

    @router.delete("/apps/{app_id}")
    def delete_app(app_id: str) -> dict[str, Any]:
        _existing(state, app_id)
        if not state.delete_app(app_id):
            raise not_found(f"App {app_id}", "app_not_found")
        return {"message": f"App {app_id} deleted", "success": True}


def _existing(state: EmulatorState, app_id: str) -> App:
    app = state.app(app_id)
    if app is None:
        raise not_found(f"App {app_id}", "app_not_found")
    return app


def _check_reserved(slug: str) -> None:
    if slug in RESERVED_SLUGS or _ENVIRONMENT_LABEL.fullmatch(slug):
        raise ApiError(400, "BadRequestError", f"Slug '{slug}' is reserved", "slug_reserved")


def _taken(slug: str) -> ApiError:
    return ApiError(409, "AlreadyExistsError", f"Slug '{slug}' is already taken", "slug_taken")


def _create(state: EmulatorState, body: CreateAppRequest) -> App:
    _check_reserved(body.slug)
    record = AppRecord(
        created=utc_now(),
        slug=body.slug,
        title=body.meta.title,
        description=body.meta.description,
        is_active=body.is_active,
    )
    _apply(record, body)
    app_id = new_id("app")
    try:
        state.add_app(app_id, record)
    except SlugTaken:
        raise _taken(body.slug) from None
    except TierLimit as limit:
        raise ApiError(
            400,
            "BadRequestError",
            f"App limit reached: your plan allows {limit.limit} apps and has {limit.count}",
            "app_limit_reached",
            details={"limit": limit.limit, "count": limit.count},
        ) from None
    return _existing(state, app_id)


def _apply(record: AppRecord, body: CreateAppRequest | UpdateAppRequest) -> None:
    """Change ``record`` by the keys ``body`` holds (the keys sent, no others)."""
    sent = body.model_fields_set
    if isinstance(body, UpdateAppRequest):
        if "slug" in sent and body.slug is not None:
            record.slug = body.slug
        if "is_active" in sent and body.is_active is not None:
            record.is_active = body.is_active
        if body.meta is not None:
            meta = body.meta
            if "title" in meta.model_fields_set and meta.title is not None:
                record.title = meta.title
            if "description" in meta.model_fields_set:
                record.description = meta.description
    if body.build_config is not None:
        _apply_build_config(record, body.build_config)
    if body.auth_config is not None:
        # Key by key; the password is write-only: never kept where an answer shows it.
        changes = body.auth_config.model_dump(exclude_unset=True, exclude={"password"})
        record.auth_config = {**(record.auth_config or {}), **changes}
    if body.monitoring_config is not None:
        changes = body.monitoring_config.model_dump(exclude_unset=True)
        record.monitoring_config = {**(record.monitoring_config or {}), **changes}


def _apply_build_config(record: AppRecord, build: BuildConfig) -> None:
    for key in build.model_fields_set:
        if key == "env_vars":
            record.env_vars = dict(build.env_vars or {})
        elif key == "secrets":
            record.secrets = _secrets(record.secrets, build.secrets or {})
        else:
            value = build.model_dump(mode="json", include={key})[key]
            if value is None:
                record.build_other.pop(key, None)
            else:
                record.build_other[key] = value


def _secrets(stored: dict[str, str], sent: dict[str, str]) -> dict[str, str]:
    """The map ``sent`` replaces ``stored`` with: a ``***`` keeps the stored value."""
    kept: dict[str, str] = {}
    for name, value in sent.items():
        if value != MASKED:
            kept[name] = value
        elif name in stored:
            kept[name] = stored[name]
        else:
            raise ApiError(
                400,
                "BadRequestError",
                f"Secret '{name}' was sent masked ('{MASKED}') but has no stored value to keep",
                "secret_value_masked",
            )
    return kept
