"""`mixpeek team list|invite|rm|role|invitations`: who can work on the app.

A member is named by user id or email (resolved through the team list, so a typo sends
nothing: exit 2). Roles are ``admin`` and ``member`` (the service's ``org:admin`` and
``org:member``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.confirm import Yes, confirmed, refuse_without_terminal
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.team import Member

team_app = typer.Typer(no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="The member's user id or email.", metavar="USER")]
# Enough to catch a user id or a typo given for an email; the service checks the rest.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _members_shown(run: Run, listed: dict[str, Any]) -> str | None:
    from mixpeek_cli.service.team import role_name

    rows = [
        (m["user_id"], m["email"], m["name"], role_name(m["role"]), m["joined_at"])
        for m in listed["members"]
    ]
    return run.rows(("USER ID", "EMAIL", "NAME", "ROLE", "JOINED"), rows, empty="no members listed")


@team_app.command("list")
@command(app=True, render=_members_shown)
def list_members(run: Run) -> dict[str, Any]:
    """List the app's members: user id, email, name, role, when they joined."""
    from mixpeek_cli.service import team

    with run.api() as (app_id, api):
        members = team.list_members(api, app_id)
    return {"app_id": app_id, "members": [member.to_json() for member in members]}


@team_app.command("invite")
@command(app=True, render=lambda run, sent: printable(sent["invitation_id"]))
def invite(
    run: Run,
    email: Annotated[str, typer.Argument(help="Who to invite.", metavar="EMAIL")],
    admin: Annotated[bool, typer.Option("--admin", help="Invite as an admin.")] = False,
) -> dict[str, Any]:
    """Invite EMAIL to the app's team (as a member, or with --admin as an admin); prints
    the invitation's id."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service import team

    address = email.strip()
    if not _EMAIL.fullmatch(address):
        raise UsageError(f"{email!r} is not an email address", hint="e.g. ada@example.com")
    role = team.ROLES["admin" if admin else "member"]
    with run.api() as (app_id, api):
        sent = team.invite(api, app_id, address, role)
    run.reporter.info(
        f"invited {sent.email_address or address} as {team.role_name(sent.role or role)} "
        f"({sent.status or 'sent'}); see `mixpeek team invitations`"
    )
    return {"app_id": app_id, **sent.to_json()}


def _invitations_shown(run: Run, listed: dict[str, Any]) -> str | None:
    from mixpeek_cli.service.team import role_name

    if listed["revoked"] is not None:
        return printable(listed["revoked"])
    rows = [
        (i["invitation_id"], i["email_address"], role_name(i["role"]), i["status"], i["created_at"])
        for i in listed["invitations"]
    ]
    headers = ("INVITATION ID", "EMAIL", "ROLE", "STATUS", "CREATED")
    return run.rows(headers, rows, empty="no invitations")


@team_app.command("invitations")
@command(app=True, render=_invitations_shown)
def invitations(
    run: Run,
    revoke: Annotated[
        str | None,
        typer.Option("--revoke", help="Revoke this invitation (its id).", metavar="ID"),
    ] = None,
) -> dict[str, Any]:
    """List the app's invitations; with --revoke ID, revoke one (inviting again undoes it)."""
    from mixpeek_cli.service import team

    with run.api() as (app_id, api):
        if revoke is not None:
            team.revoke_invitation(api, app_id, revoke.strip())
            run.reporter.info(f"revoked invitation {revoke.strip()}")
            return {"app_id": app_id, "revoked": revoke.strip(), "invitations": []}
        found = team.list_invitations(api, app_id)
    return {"app_id": app_id, "revoked": None, "invitations": [i.to_json() for i in found]}


def find_member(api: ApiClient, app_id: str, user: str) -> Member:
    """The member whose user id, or email (any case), is ``user``; exit 2 when none is."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service import team

    wanted = user.strip()
    members = team.list_members(api, app_id)
    for member in members:
        if member.user_id == wanted:
            return member
    by_email = [m for m in members if m.email and m.email.casefold() == wanted.casefold()]
    if len(by_email) == 1:
        return by_email[0]
    if by_email:
        raise UsageError(
            f"{len(by_email)} members of app {app_id} have the email {wanted}",
            hint="name one by its user id (mixpeek team list)",
        )
    raise UsageError(
        f"no member of app {app_id} is {wanted!r} (user id or email)",
        hint="see the members with: mixpeek team list",
    )


def _who(member: Member) -> str:
    named = member.email or member.name
    return f"{named} ({member.user_id})" if named else member.user_id


@team_app.command("rm")
@command(app=True, render=lambda run, gone: printable(gone["user_id"]) if gone["removed"] else None)
def remove(run: Run, user: UserArg, yes: Yes = False) -> dict[str, Any]:
    """Remove a member (by user id or email) from the app's team. Asks first on a
    terminal; in scripts pass --yes (without it and without a terminal, nothing is sent:
    exit 2)."""
    from mixpeek_cli.service import team

    app_id = run.settings.require_remote()[0]
    refuse_without_terminal(yes, f"team rm takes {user.strip()} off app {app_id}'s team")
    with run.api() as (_, api):
        member = find_member(api, app_id, user)
        shown = {"app_id": app_id, "user_id": member.user_id, "email": member.email}
        if not confirmed(yes, f"Remove {_who(member)} from app {app_id}'s team?"):
            run.reporter.info("nobody was removed")
            return {**shown, "removed": False}
        team.remove_member(api, app_id, member.user_id)
    run.reporter.info(f"removed {_who(member)} from app {app_id}'s team")
    return {**shown, "removed": True}


@team_app.command("role")
@command(app=True, render=lambda run, changed: printable(changed["role"] or ""))
def role(
    run: Run,
    user: UserArg,
    new_role: Annotated[str, typer.Argument(help="admin or member.", metavar="admin|member")],
) -> dict[str, Any]:
    """Make a member (by user id or email) an admin or a member."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service import team

    wanted = team.ROLES.get(new_role.strip().lower())
    if wanted is None:
        raise UsageError(f"{new_role!r} is not a role", hint="give admin or member")
    with run.api() as (app_id, api):
        member = find_member(api, app_id, user)
        changed = team.set_role(api, app_id, member.user_id, wanted)
    run.reporter.info(f"{_who(member)} is now {team.role_name(changed.role or wanted)}")
    return {"app_id": app_id, **changed.to_json(), "previous_role": member.role}
