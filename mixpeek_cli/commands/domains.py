"""`mixpeek domains list|add|verify|rm`: the app's custom domains and their DNS records.

A domain is checked locally before anything is sent. ``add`` prints the two records to
create (a TXT that proves ownership, a CNAME that routes the name); ``verify`` asks the
service to check them, which it does every 30 minutes for up to 72 hours: ``--wait``
follows the domain's status until it is live (``active``) or the check gave up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.confirm import Yes, confirmed, refuse_without_terminal
from mixpeek_cli.commands.layer import Result, Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.domains import Domain

domains_app = typer.Typer(no_args_is_help=True)

DomainArg = Annotated[
    str, typer.Argument(help="The domain, e.g. app.example.com.", metavar="DOMAIN")
]
CHECKS = "the service checks DNS every 30 minutes for up to 72 hours"
# One DNS label: letters, digits and inner hyphens, 1-63 characters (RFC 1035, lower case).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# --wait polls from --poll-interval, slower each time, up to this (DNS checks are 30 min apart).
MAX_POLL_SECONDS = 30.0


def domain_name(text: str) -> str:
    """``text`` as the domain name the service is sent (lower case, no trailing dot,
    an internationalised name in its ASCII form); UsageError when it is none."""
    from mixpeek_cli.errors import UsageError

    raw = text.strip()
    hint = "give the host name alone, e.g. app.example.com (no scheme, path, port or wildcard)"
    name = raw.rstrip(".").lower()  # "example.com." names the same host
    try:
        name = name if name.isascii() else name.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""
    labels = name.split(".")
    if (
        len(labels) < 2
        or len(name) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # an IP address, or no top-level domain
    ):
        raise UsageError(f"{raw!r} is not a domain name", hint=hint)
    if name == "mxp.co" or name.endswith(".mxp.co"):
        raise UsageError(f"{name} is a Mixpeek address already", hint="add a domain of your own")
    return name


def _domains_shown(run: Run, listed: dict[str, Any]) -> str | None:
    rows = [
        (d["domain"], d["status"], "yes" if d["is_primary"] else "", d["verified_at"])
        for d in listed["domains"]
    ]
    empty = "no custom domains yet: add one with `mixpeek domains add DOMAIN`"
    return run.rows(("DOMAIN", "STATUS", "PRIMARY", "VERIFIED"), rows, empty=empty)


@domains_app.command("list")
@command(app=True, render=_domains_shown)
def list_domains(run: Run) -> dict[str, Any]:
    """List the app's custom domains: status, primary, when verified (a table on a terminal)."""
    from mixpeek_cli.service import domains

    with run.api() as (app_id, api):
        found = domains.list_domains(api, app_id)
    return {"app_id": app_id, "domains": [domain.to_json() for domain in found]}


def _records_shown(run: Run, added: dict[str, Any]) -> str | None:
    rows = [(r["type"], r["name"], r["value"]) for r in added["records"]]
    return run.rows(("TYPE", "NAME", "VALUE"), rows, empty="the service named no DNS records")


@domains_app.command("add")
@command(app=True, render=_records_shown)
def add(
    run: Run,
    domain: DomainArg,
    primary: Annotated[
        bool, typer.Option("--primary", help="Make it the app's primary domain.")
    ] = False,
) -> dict[str, Any]:
    """Attach DOMAIN to the app and print the two DNS records to create at your DNS
    provider: a TXT record proving you own it and a CNAME routing it to the app. Then run
    `mixpeek domains verify DOMAIN --wait`."""
    from mixpeek_cli.service import domains

    name = domain_name(domain)
    with run.api() as (app_id, api):
        added = domains.add_domain(api, app_id, name, primary=primary)
    records = added.records()
    missing = [str(r["type"]) for r in records if r["value"] is None]
    if missing:
        run.reporter.warn(
            f"the service's answer gives no value for the {' and '.join(missing)} record: "
            "see `mixpeek domains list --json` or the dashboard"
        )
    run.reporter.info(
        f"added {added.domain} ({added.status}); create these DNS records, then run: "
        f"mixpeek domains verify {added.domain} --wait"
    )
    if len(added.domain.split(".")) == 2:
        run.reporter.info(
            "an apex domain cannot hold a CNAME at most DNS providers: use the provider's "
            "ALIAS, ANAME or CNAME flattening for it"
        )
    return {"app_id": app_id, **added.to_json(), "records": records}


def _failed(domain: Domain, seen: set[str]) -> bool:
    """Whether the service gave up checking: a failed status, or ``pending`` again after
    the check had started [assumed: the published statuses have no failed one]."""
    from mixpeek_cli.service.domains import LIVE

    status = domain.status.lower()
    return "fail" in status or (status == "pending" and bool(seen - {"pending", LIVE}))


@domains_app.command("verify")
@command(app=True, poll_interval=True, render=lambda run, shown: printable(shown["status"]))
def verify(
    run: Run,
    domain: DomainArg,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Follow the status until the domain is live or failed."),
    ] = False,
) -> Result:
    """Ask the service to check DOMAIN's DNS records. It checks every 30 minutes for up to
    72 hours; --wait follows the status until the domain is live (exit 0), the check gave up
    (exit 1) or --timeout ran out (exit 3)."""
    from mixpeek_cli.errors import ExitCode
    from mixpeek_cli.service import domains

    name = domain_name(domain)
    with run.api() as (app_id, api):
        found = domains.verify_domain(api, app_id, name)
        run.reporter.info(f"{found.domain}: {found.status}")
        seen = {found.status.lower()}
        timed_out = False
        if wait:
            found, timed_out = _follow(run, api, app_id, found, seen)
    live = found.status.lower() == domains.LIVE
    failed = not live and _failed(found, seen)
    data = {
        "app_id": app_id,
        **found.to_json(),
        "live": live,
        "failed": failed,
        "timed_out": timed_out,
    }
    again = f"mixpeek domains verify {found.domain} --wait"
    if failed:
        why = (
            f"error: the service found no valid DNS records for {found.domain} and stopped "
            f"checking; check the TXT and CNAME records (`mixpeek domains list --json`), then "
            f"run: {again}",
        )
        return Result(data, int(ExitCode.DEPLOY_FAILED), why)
    if timed_out:
        why = (
            f"error: {found.domain} is still {found.status} when --timeout ran out; {CHECKS}: "
            f"check again later with: {again}",
        )
        return Result(data, int(ExitCode.TIMEOUT), why)
    if not live and not wait:
        run.reporter.info(f"{CHECKS}; follow it with: {again}")
    return Result(data)


def _follow(
    run: Run, api: ApiClient, app_id: str, found: Domain, seen: set[str]
) -> tuple[Domain, bool]:
    """Poll the domain list until the domain is live or failed: (the domain, timed out)."""
    import time

    from mixpeek_cli.errors import ApiError
    from mixpeek_cli.service import domains

    settings = run.settings
    deadline = settings.deadline
    interval = settings.poll_interval
    run.reporter.info(f"waiting for {found.domain} to go live; {CHECKS}")
    while found.status.lower() != domains.LIVE and not _failed(found, seen):
        if not deadline.allows(interval):
            return found, True
        time.sleep(interval)
        interval = min(interval * 1.5, MAX_POLL_SECONDS)
        current = next(
            (d for d in domains.list_domains(api, app_id) if d.domain == found.domain), None
        )
        if current is None:
            raise ApiError(f"{found.domain} is no longer attached to app {app_id}")
        if current.status != found.status:
            run.reporter.info(f"{current.domain}: {current.status}")
        seen.add(current.status.lower())
        found = current
    return found, False


@domains_app.command("rm")
@command(app=True, render=lambda run, gone: printable(gone["domain"]) if gone["removed"] else None)
def remove(run: Run, domain: DomainArg, yes: Yes = False) -> dict[str, Any]:
    """Take DOMAIN off the app: it stops serving the app. Asks first on a terminal; in
    scripts pass --yes (without it and without a terminal, nothing is sent: exit 2)."""
    from mixpeek_cli.service import domains

    name = domain_name(domain)
    app_id = run.settings.require_remote()[0]
    refuse_without_terminal(yes, f"domains rm takes {name} off app {app_id}")
    with run.api() as (_, api):
        if not confirmed(yes, f"Take {name} off app {app_id}? It stops serving the app."):
            run.reporter.info("nothing was removed")
            return {"app_id": app_id, "domain": name, "removed": False}
        domains.remove_domain(api, app_id, name)
    run.reporter.info(f"removed {name} from app {app_id}")
    return {"app_id": app_id, "domain": name, "removed": True}
