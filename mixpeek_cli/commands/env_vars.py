"""`mixpeek env`: the app's env vars (``build_config.env_vars``), which every visitor's
browser sees in ``window.__MIXPEEK__``: list, set, rm, pull, push.

Each change reads the app, sends the whole new map in ``build_config`` and nothing else,
and checks the answer (service/build_config.py: the assumed PATCH rule, docs/api.md). A
value the secret scan recognises is refused unless --force: a secret belongs in
`mixpeek secrets`. ``MIXPEEK_API_KEY`` (it enables the site's /api proxy and is never sent
to the browser) is set from a prompt or stdin only, and its value is never shown.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mixpeek_cli.commands import env_files
from mixpeek_cli.commands.confirm import refuse_without_terminal
from mixpeek_cli.commands.env_changes import (
    check_name,
    current_env_vars,
    hidden,
    refuse_secrets,
    replace,
    result,
    told,
)
from mixpeek_cli.commands.env_files import Force, Yes
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

env_app = typer.Typer(no_args_is_help=True)


def _lines(run: Run, shown: dict[str, Any]) -> str | None:
    env_vars = shown["env_vars"]
    if not env_vars:
        run.reporter.info("no env vars")
        return None
    return "\n".join(printable(f"{key}={value}") for key, value in env_vars.items())


@env_app.command("list")
@command(app=True, render=_lines)
def list_env(run: Run) -> dict[str, Any]:
    """List the env vars as KEY=VALUE lines: they are public, in every page of the site
    (MIXPEEK_API_KEY's value is shown as ***)."""
    from mixpeek_cli.service.build_config import env_vars_of, masked_env_vars

    with run.api() as (app_id, api):
        current = env_vars_of(api.get_app(app_id))
    return {"app_id": app_id, "env_vars": masked_env_vars(current)}


@env_app.command("set")
@command(app=True)
def set_env(
    run: Run,
    pairs: Annotated[
        list[str],
        typer.Argument(
            help="KEY=VALUE, or MIXPEEK_API_KEY alone (its value is asked for).",
            metavar="KEY=VALUE...",
        ),
    ],
    force: Force = False,
) -> dict[str, Any]:
    """Set env vars, KEY=VALUE each; a value that looks like a secret is refused.

    MIXPEEK_API_KEY is given alone: its value comes from a prompt that does not echo it,
    or from stdin when that is not a terminal."""
    from mixpeek_cli.commands.hidden_value import read_hidden_value
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import PROXY_KEY

    changes: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        check_name(key)
        if key == PROXY_KEY and equals:
            raise UsageError(
                f"{PROXY_KEY}'s value is never taken from the command line: `ps` and the "
                "shell's history keep it",
                hint=f"run mixpeek env set {PROXY_KEY} and give it at the prompt or on stdin",
            )
        if not equals and key != PROXY_KEY:
            raise UsageError(f"{pair!r} is not KEY=VALUE", hint=f"e.g. {key}=on")
        changes[key] = value if equals else read_hidden_value(key)
    refuse_secrets(changes, force)
    app_id, client = run.client()
    with client as api, hidden(changes):
        current = current_env_vars(api, app_id)
        new = {**current, **changes}
        if new != current:
            replace(api, app_id, new, removed=())
    told(run, "set", list(changes), changed=new != current)
    return result(app_id, new, set=list(changes))


@env_app.command("rm")
@command(app=True)
def rm_env(
    run: Run,
    keys: Annotated[list[str], typer.Argument(help="The env vars to remove.", metavar="KEY...")],
    yes: Yes = False,
) -> dict[str, Any]:
    """Remove env vars. On a terminal it asks first; elsewhere it needs --yes (else exit
    2, nothing sent). A key the app does not have is named and skipped."""
    for key in keys:
        check_name(key)
    refuse_without_terminal(yes, "rm removes env vars")
    with run.api() as (app_id, api):
        current = current_env_vars(api, app_id)
        present = [key for key in dict.fromkeys(keys) if key in current]
        for key in keys:
            if key not in current:
                run.reporter.warn(f"{key} is not set")
        if present and not yes:
            asked = printable(f"Remove {', '.join(present)} from the env vars of {app_id}?")
            if not typer.confirm(asked, err=True):
                run.reporter.info("nothing was removed")
                return result(app_id, current, removed=[])
        new = {k: v for k, v in current.items() if k not in present}
        if present:
            replace(api, app_id, new, removed=present)
    told(run, "removed", present, changed=bool(present), none="nothing to remove")
    return result(app_id, new, removed=present)


env_app.command("pull")(env_files.pull)
env_app.command("push")(env_files.push)
