"""Bodies of the emulated domains, repo, team and health calls (the SDK's models: see
tests/sdk_oracle.py), and of their ``/_emulator`` controls.

Request bodies are strict like every other (``extra="forbid"``, no coercion); a field
the SDK declares ``Optional`` with a default takes null as that default, as its
``from_dict`` does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mixpeek_cli.emulator.models import STRICT_BODY, Stamped

# The published lifecycle [sdk: CustomDomainConfig]; "active" is live.
DomainStatus = Literal["pending", "verifying", "provisioning_tls", "active"]
ADMIN, MEMBER = "org:admin", "org:member"


def _null_is_default(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    return cls.model_fields[info.field_name or ""].default if value is None else value


# -- domains ------------------------------------------------------------------------------


class AddDomainRequest(BaseModel):
    model_config = STRICT_BODY

    domain: str = Field(min_length=1)
    is_primary: bool = False

    @field_validator("is_primary", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        return _null_is_default(cls, value, info)


class DomainResponse(BaseModel):
    domain: str
    status: str
    verification_token: str | None
    cname_target: str | None
    is_primary: bool
    verified_at: str | None


class DomainList(BaseModel):
    domains: list[DomainResponse]
    total: int


class Deleted(BaseModel):
    """The SDK's GenericDeleteResponse."""

    message: str
    success: bool = True


# -- the repository -----------------------------------------------------------------------


class ConnectRepoRequest(BaseModel):
    model_config = STRICT_BODY

    repo_url: str = Field(min_length=1)
    branch: str = "main"
    github_installation_id: int | None = None

    @field_validator("branch", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        return _null_is_default(cls, value, info)


# -- the team -----------------------------------------------------------------------------


class InviteUserRequest(BaseModel):
    model_config = STRICT_BODY

    email_address: str
    role: str = MEMBER

    @field_validator("role", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        return _null_is_default(cls, value, info)


class UpdateRoleRequest(BaseModel):
    model_config = STRICT_BODY

    role: str


class AppUser(BaseModel):
    """The SDK's AppUserResponse."""

    user_id: str
    membership_id: str
    email: str | None
    name: str | None
    avatar_url: str | None = None
    role: str
    joined_at: str | None


class UserList(BaseModel):
    users: list[AppUser]
    total: int


class Invitation(BaseModel):
    """The SDK's AppInvitationResponse."""

    invitation_id: str
    email_address: str
    role: str
    status: str
    created_at: str | None


class InvitationList(BaseModel):
    invitations: list[Invitation]
    total: int


# -- health -------------------------------------------------------------------------------


class ErrorRate(BaseModel):
    app_id: str
    error_count: int
    period_minutes: int
    rate_per_minute: float


class ErrorBucket(BaseModel):
    timestamp: str
    count: int


class VitalsSummary(BaseModel):
    metric_name: str
    p50: float
    p75: float
    p95: float
    sample_count: int


class RecentError(BaseModel):
    timestamp: str
    error_type: str
    error_message: str
    url: str | None


class Analytics(BaseModel):
    """The SDK's AppAnalyticsResponse."""

    app_id: str
    period_hours: int
    total_errors: int
    error_rate_per_minute: float
    errors_over_time: list[ErrorBucket]
    vitals: list[VitalsSummary]
    recent_errors: list[RecentError]
    total_events: int
    total_pageviews: int


# -- the controls -------------------------------------------------------------------------


class _Control(BaseModel):
    # A misspelt field must fail loudly, not leave the emulator as it was.
    model_config = ConfigDict(extra="forbid")


class DomainOutcome(_Control):
    """Body of ``POST /_emulator/apps/{app_id}/domains/{domain}``: how DNS verification
    ends. ``failed``: the checks gave up, the domain is ``pending`` again."""

    outcome: Literal["provisioning_tls", "active", "failed"]


class GithubSpec(_Control):
    """Body of ``PUT /_emulator/apps/{app_id}/github``."""

    installed: bool


class ErrorSpec(Stamped):
    """Body of ``POST /_emulator/apps/{app_id}/errors``: an error the app's pages met."""

    error_type: str = "Error"
    error_message: str
    url: str | None = None


class VitalSpec(Stamped):
    """Body of ``POST /_emulator/apps/{app_id}/vitals``: one Web Vitals sample (times in
    milliseconds, CLS unitless)."""

    metric_name: str = Field(min_length=1)
    value: float = Field(ge=0)
