"""`mixpeek promote`: production serves what staging serves, followed like a deploy.

``POST /v1/apps/{id}/promote`` (no body) copies staging's live version to production.
It is a creating write: its lost answer is never sent again (the client's ``creates``).
What each environment serves comes from history/live.py; when the service says staging
serves nothing, or the same version as production, nothing is sent (exit 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import watching
from mixpeek_cli.commands.confirm import refuse_without_terminal
from mixpeek_cli.commands.layer import Run, command

if TYPE_CHECKING:
    from mixpeek_cli.history.live import Live
    from mixpeek_cli.service.versions import VersionRecord

Yes = Annotated[bool, typer.Option("-y", "--yes", help="Promote without asking first.")]
Wait = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Follow the promote until it is final.")
]


@command(app=True, poll_interval=True, watch=True)
def promote(
    run: Run,
    yes: Yes = False,
    wait: Wait = True,
) -> int:
    """Shows what staging and production serve, asks on a terminal, then promotes and
    follows it like a deploy and prints the production URL. Without a terminal (scripts,
    CI) it needs --yes: without it, nothing is sent (exit 2). With --watch, production's
    error rate is watched afterwards, as `mixpeek deploy --watch` does.
    """
    import uuid

    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.deploy.report import render_restore
    from mixpeek_cli.deploy.restore import RestoreResult, restore_and_follow
    from mixpeek_cli.history.live import find_live

    plan = run.watch_plan(follows=wait)
    asking = not yes
    refuse_without_terminal(yes, "promote changes what production serves")
    settings = run.settings
    with run.api() as (app_id, api):
        app = api.get_app(app_id)
        records = api.list_versions(app_id)
        live = find_live(api, app_id, records, app=app)
        staging, production = _state(run, records, live)
        _check(live, staging, production)
        if asking and not typer.confirm(
            f"Serve {_version_name(live, 'staging')} in production?", err=True
        ):
            run.reporter.info("nothing was promoted")
            return 0
        result = RestoreResult(
            app_id=app_id,
            version=live.version("staging") or 0,
            environment="production",
            previous_version=live.version("production"),
            waited=wait,
            kind="promote",
        )
        site = AppLookup(api, app_id, settings.base_url, run.trace)
        before = watching.note(settings, run.reporter, run.trace, "production") if plan else None
        restore_and_follow(
            api,
            result,
            settings=settings,
            reporter=run.reporter,
            site=site,
            trace=run.trace,
            start=lambda: api.promote(app_id, idempotency_key=str(uuid.uuid4())),
        )
    if plan is not None and before is not None and result.exit_code == 0:
        result.watched = watching.watch(
            plan,
            before,
            result.smoke_test,
            settings=settings,
            reporter=run.reporter,
            trace=run.trace,
            deploy_id=result.deploy_id,
        )
    return render_restore(result, run.output, run.console)


def _state(
    run: Run, records: list[VersionRecord], live: Live
) -> tuple[VersionRecord | None, VersionRecord | None]:
    """What staging and production serve, told on stderr; their records when listed."""
    from mixpeek_cli.commands.versions import describe
    from mixpeek_cli.history.selection import find

    found = []
    for env in ("staging", "production"):
        number = live.version(env)
        record = find(records, number) if number else None
        if record is not None:
            what = describe(record)
        elif number:
            what = f"version {number}"
        else:
            what = "nothing" if live.known(env) else "an unknown version (the service does not say)"
        run.reporter.info(f"{env + ':':<12}{what}")
        found.append(record)
    return found[0], found[1]


def _check(live: Live, staging: VersionRecord | None, production: VersionRecord | None) -> None:
    """Exit 2, nothing sent, when the service says there is nothing to promote."""
    from mixpeek_cli.errors import UsageError

    if live.known("staging") and live.version("staging") is None:
        raise UsageError(
            "staging serves nothing: there is nothing to promote",
            hint="deploy to staging first: mixpeek deploy -e staging",
        )
    number = live.version("staging")
    if number is not None and number == live.version("production"):
        raise UsageError(
            f"production already serves version {number}, as staging does: nothing to promote",
            hint="deploy a new version to staging first: mixpeek deploy -e staging",
        )


def _version_name(live: Live, environment: str) -> str:
    number = live.version(environment)
    return f"version {number}" if number else f"what {environment} serves"
