"""An app's team: its members and invitations (``/v1/apps/{id}/users``).

Answers are the SDK's ``AppUserResponse`` and ``AppInvitationResponse``, read tolerantly.
Roles are the service's Clerk organisation roles, ``org:admin`` and ``org:member``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mixpeek_cli.errors import ApiError, UsageError
from mixpeek_cli.service.models import text_field

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

ROLES = {"admin": "org:admin", "member": "org:member"}
INVITE_MAYBE = (
    "the invitation may have been sent: check `mixpeek team invitations` before inviting again"
)


def role_name(role: str | None) -> str:
    """``org:admin`` as people say it (``admin``); another role as it is."""
    return (role or "").removeprefix("org:") or "-"


@dataclass(frozen=True, kw_only=True)
class Member:
    user_id: str
    membership_id: str | None
    email: str | None
    name: str | None
    role: str | None
    joined_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "joined_at": self.joined_at,
            "membership_id": self.membership_id,
        }


@dataclass(frozen=True, kw_only=True)
class Invitation:
    invitation_id: str
    email_address: str | None
    role: str | None
    status: str | None
    created_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "invitation_id": self.invitation_id,
            "email_address": self.email_address,
            "role": self.role,
            "status": self.status,
            "created_at": self.created_at,
        }


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def parse_member(data: Mapping[str, Any]) -> Member:
    return Member(
        user_id=text_field(data, "user_id", required=True, what="team member") or "",
        membership_id=_text(data, "membership_id"),
        email=_text(data, "email"),
        name=_text(data, "name"),
        role=_text(data, "role"),
        joined_at=_text(data, "joined_at"),
    )


def parse_invitation(data: Mapping[str, Any]) -> Invitation:
    return Invitation(
        invitation_id=text_field(data, "invitation_id", required=True, what="invitation") or "",
        email_address=_text(data, "email_address"),
        role=_text(data, "role"),
        status=_text(data, "status"),
        created_at=_text(data, "created_at"),
    )


def _segment(value: str) -> str:
    """An id as one path segment: a "/" in it cannot reach another call, and neither can
    "." or ".." (a URL's dot segments are resolved before it is sent)."""
    if value in ("", ".", ".."):
        raise UsageError(f"{value!r} is not an id")
    return quote(value, safe="")


def _items(data: Mapping[str, Any], key: str, what: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if not isinstance(items, list):
        raise ApiError(f"the API's {what} has no {key!r} array")
    return [item for item in items if isinstance(item, dict)]


def list_members(api: ApiClient, app_id: str) -> list[Member]:
    data = api.call("GET", f"/v1/apps/{app_id}/users")
    return [parse_member(item) for item in _items(data, "users", "team list")]


def invite(api: ApiClient, app_id: str, email: str, role: str) -> Invitation:
    data = api.call(
        "POST",
        f"/v1/apps/{app_id}/users/invite",
        json_body={"email_address": email, "role": role},
        creates=INVITE_MAYBE,
    )
    return parse_invitation(data)


def list_invitations(api: ApiClient, app_id: str) -> list[Invitation]:
    data = api.call("GET", f"/v1/apps/{app_id}/users/invitations")
    return [parse_invitation(item) for item in _items(data, "invitations", "invitation list")]


def revoke_invitation(api: ApiClient, app_id: str, invitation_id: str) -> None:
    api.call("DELETE", f"/v1/apps/{app_id}/users/invitations/{_segment(invitation_id)}")


def remove_member(api: ApiClient, app_id: str, user_id: str) -> None:
    api.call("DELETE", f"/v1/apps/{app_id}/users/{_segment(user_id)}")


def set_role(api: ApiClient, app_id: str, user_id: str, role: str) -> Member:
    data = api.call(
        "PATCH", f"/v1/apps/{app_id}/users/{_segment(user_id)}/role", json_body={"role": role}
    )
    return parse_member(data)
