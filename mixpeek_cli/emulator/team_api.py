"""The published team calls: ``GET /v1/apps/{id}/users``, ``POST .../users/invite``,
``GET .../users/invitations``, ``DELETE .../users/invitations/{iid}``,
``DELETE .../users/{uid}``, ``PATCH .../users/{uid}/role`` (``team_store`` keeps them).
"""

from __future__ import annotations

from fastapi import APIRouter

from mixpeek_cli.emulator.admin_models import (
    AppUser,
    Deleted,
    Invitation,
    InvitationList,
    InviteUserRequest,
    UpdateRoleRequest,
    UserList,
)
from mixpeek_cli.emulator.state import EmulatorState


def add_team_routes(router: APIRouter, state: EmulatorState) -> None:
    team = state.admin.team

    @router.get("/apps/{app_id}/users", response_model=UserList)
    def list_users(app_id: str) -> UserList:
        users = [member.answer() for member in team.members(app_id)]
        return UserList(users=users, total=len(users))

    @router.post("/apps/{app_id}/users/invite", response_model=Invitation)
    def invite(app_id: str, body: InviteUserRequest) -> Invitation:
        return team.invite(app_id, body.email_address.strip(), body.role).answer()

    @router.get("/apps/{app_id}/users/invitations", response_model=InvitationList)
    def list_invitations(app_id: str) -> InvitationList:
        sent = [invitation.answer() for invitation in team.invitations(app_id)]
        return InvitationList(invitations=sent, total=len(sent))

    @router.delete("/apps/{app_id}/users/invitations/{invitation_id}", response_model=Deleted)
    def revoke(app_id: str, invitation_id: str) -> Deleted:
        team.revoke(app_id, invitation_id)
        return Deleted(message=f"Invitation {invitation_id} revoked")

    @router.delete("/apps/{app_id}/users/{user_id}", response_model=Deleted)
    def remove(app_id: str, user_id: str) -> Deleted:
        team.remove(app_id, user_id)
        return Deleted(message=f"User {user_id} removed")

    @router.patch("/apps/{app_id}/users/{user_id}/role", response_model=AppUser)
    def set_role(app_id: str, user_id: str, body: UpdateRoleRequest) -> AppUser:
        return team.set_role(app_id, user_id, body.role).answer()
