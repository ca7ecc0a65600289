"""The bodies of ``POST /v1/apps`` and ``PATCH /v1/apps/{app_id}``, as strict as the
service's: the keys the SDK's ``CreateAppRequest`` and ``UpdateAppRequest`` declare, and
no other (422 ``extra_forbidden``), strict types, the published slug rule.

The nested objects the CLI sends (``meta``, ``build_config``) and those an app answer
shows (``auth_config``, ``monitoring_config``) are strict too; the legacy page-builder
keys both models still accept are taken as any JSON of their kind and otherwise ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from mixpeek_cli.emulator.models import STRICT_BODY, BuildConfig

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
Slug = Annotated[str, StringConstraints(min_length=3, max_length=60, pattern=SLUG_PATTERN)]


class PageMeta(BaseModel):
    model_config = STRICT_BODY

    title: str
    description: str | None = None
    logo_url: str | None = None
    favicon_url: str | None = None
    indexable: bool | None = None


class PageMetaChange(PageMeta):
    """``meta`` in a PATCH: the title may be left out (only the keys sent change)."""

    title: str | None = None  # type: ignore[assignment]


class AuthConfigInput(BaseModel):
    model_config = STRICT_BODY

    mode: str | None = None
    clerk_org_id: str | None = None
    clerk_allowed_providers: list[str] | None = None
    # Write-only: never in an answer.
    password: str | None = None
    password_hash: str | None = None
    saml_idp_metadata_url: str | None = None
    saml_sp_entity_id: str | None = None
    saml_acs_url: str | None = None
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret_name: str | None = None
    oidc_scopes: list[str] | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    api_keys: list[dict[str, Any]] | None = None


class MonitoringConfig(BaseModel):
    model_config = STRICT_BODY

    enabled: bool | None = None
    error_boundary_enabled: bool | None = None
    sentry_enabled: bool | None = None
    posthog_enabled: bool | None = None
    custom_error_message: str | None = None
    auto_fix_enabled: bool | None = None


class _Legacy(BaseModel):
    """The deprecated page-builder keys: accepted, not kept."""

    model_config = STRICT_BODY

    template: str | None = None
    sections: list[dict[str, Any]] | None = None
    custom_html: str | None = None
    hero: dict[str, Any] | None = None
    theme: dict[str, Any] | None = None
    seo: dict[str, Any] | None = None
    stats: list[dict[str, Any]] | None = None
    featured_gallery: dict[str, Any] | None = None
    tabs: list[dict[str, Any]] | None = None
    password_secret_name: str | None = None


class CreateAppRequest(_Legacy):
    slug: Slug
    meta: PageMeta
    auth_config: AuthConfigInput | None = None
    build_config: BuildConfig | None = None
    monitoring_config: MonitoringConfig | None = None
    is_active: bool = True


class UpdateAppRequest(_Legacy):
    slug: Slug | None = None
    meta: PageMetaChange | None = None
    auth_config: AuthConfigInput | None = None
    build_config: BuildConfig | None = None
    monitoring_config: MonitoringConfig | None = None
    is_active: bool | None = None
    publish: bool = False
