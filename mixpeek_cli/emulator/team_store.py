"""Each app's team, behind its own lock: members and invitations.

Every app starts with one member, its owner (an admin). An invitation stays ``pending``
until a test accepts it (the member joins with its role) or it is revoked. The last
admin can be neither removed nor made a member: an app always has someone to run it.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import datetime

from mixpeek_cli.emulator.admin_models import ADMIN, MEMBER, AppUser, Invitation
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.records import iso, new_id, utc_now

ROLES = (ADMIN, MEMBER)
OWNER_EMAIL = "owner@example.com"


@dataclass
class MemberRecord:
    user_id: str
    membership_id: str
    email: str
    name: str
    role: str
    joined_at: datetime

    def answer(self) -> AppUser:
        return AppUser(
            user_id=self.user_id,
            membership_id=self.membership_id,
            email=self.email,
            name=self.name,
            role=self.role,
            joined_at=iso(self.joined_at),
        )


@dataclass
class InvitationRecord:
    invitation_id: str
    email: str
    role: str
    status: str  # pending, accepted, revoked
    created_at: datetime

    def answer(self) -> Invitation:
        return Invitation(
            invitation_id=self.invitation_id,
            email_address=self.email,
            role=self.role,
            status=self.status,
            created_at=iso(self.created_at),
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ApiError(
            400, "BadRequestError", f"role must be {' or '.join(ROLES)}, not {role!r}", "bad_role"
        )


def _member(email: str, role: str) -> MemberRecord:
    return MemberRecord(
        user_id=new_id("user"),
        membership_id=new_id("orgmem"),
        email=email,
        name=email.partition("@")[0],
        role=role,
        joined_at=utc_now(),
    )


class TeamStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, list[MemberRecord]] = {}
        self._invitations: dict[str, list[InvitationRecord]] = {}

    def _team(self, app_id: str) -> list[MemberRecord]:
        """The app's members (``_lock`` held), its owner added on first use."""
        if app_id not in self._members:
            owner = _member(OWNER_EMAIL, ADMIN)
            owner.name = "App Owner"
            self._members[app_id] = [owner]
        return self._members[app_id]

    def members(self, app_id: str) -> list[MemberRecord]:
        with self._lock:
            return copy.deepcopy(self._team(app_id))

    def invitations(self, app_id: str) -> list[InvitationRecord]:
        with self._lock:
            return copy.deepcopy(self._invitations.get(app_id, []))

    def invite(self, app_id: str, email: str, role: str) -> InvitationRecord:
        check_role(role)
        if email.count("@") != 1 or not all(email.partition("@")[::2]):
            raise ApiError(400, "BadRequestError", f"{email!r} is not an email address")
        with self._lock:
            wanted = email.casefold()
            if any(m.email.casefold() == wanted for m in self._team(app_id)):
                raise ApiError(409, "AlreadyExistsError", f"{email} is a member already")
            sent = self._invitations.setdefault(app_id, [])
            if any(i.email.casefold() == wanted and i.status == "pending" for i in sent):
                raise ApiError(409, "AlreadyExistsError", f"{email} is invited already")
            invitation = InvitationRecord(new_id("inv"), email, role, "pending", utc_now())
            sent.append(invitation)
            return copy.deepcopy(invitation)

    def _invitation(self, app_id: str, invitation_id: str) -> InvitationRecord:
        for invitation in self._invitations.get(app_id, []):
            if invitation.invitation_id == invitation_id:
                return invitation
        raise not_found(f"Invitation {invitation_id} of app {app_id}", "invitation_not_found")

    def revoke(self, app_id: str, invitation_id: str) -> None:
        with self._lock:
            invitation = self._invitation(app_id, invitation_id)
            if invitation.status != "pending":
                raise ApiError(
                    400, "BadRequestError", f"invitation {invitation_id} is {invitation.status}"
                )
            invitation.status = "revoked"

    def accept(self, app_id: str, invitation_id: str) -> MemberRecord:
        """The invited person joins (the ``/_emulator`` control)."""
        with self._lock:
            invitation = self._invitation(app_id, invitation_id)
            if invitation.status != "pending":
                raise ApiError(
                    400, "BadRequestError", f"invitation {invitation_id} is {invitation.status}"
                )
            invitation.status = "accepted"
            member = _member(invitation.email, invitation.role)
            self._team(app_id).append(member)
            return copy.deepcopy(member)

    def _find(self, app_id: str, user_id: str) -> MemberRecord:
        for member in self._team(app_id):
            if member.user_id == user_id:
                return member
        raise not_found(f"User {user_id} of app {app_id}", "user_not_found")

    def _keep_an_admin(self, app_id: str, leaving: MemberRecord) -> None:
        admins = [m for m in self._team(app_id) if m.role == ADMIN]
        if admins == [leaving]:
            raise ApiError(
                400, "BadRequestError", "an app needs an admin: this is its last", "last_admin"
            )

    def remove(self, app_id: str, user_id: str) -> None:
        with self._lock:
            member = self._find(app_id, user_id)
            self._keep_an_admin(app_id, member)
            self._team(app_id).remove(member)

    def set_role(self, app_id: str, user_id: str, role: str) -> MemberRecord:
        check_role(role)
        with self._lock:
            member = self._find(app_id, user_id)
            if role != ADMIN:
                self._keep_an_admin(app_id, member)
            member.role = role
            return copy.deepcopy(member)

    def forget_app(self, app_id: str) -> None:
        with self._lock:
            self._members.pop(app_id, None)
            self._invitations.pop(app_id, None)
