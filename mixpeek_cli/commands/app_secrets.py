"""`mixpeek secrets`: the app's server secrets (``build_config.secrets``), which only its
server functions see (``ctx.env``), never the browser: list (names), set, rm.

Every answer shows a secret's value masked (``***``); a PATCH that sends ``***`` for a
name keeps its stored value (the assumed rule, docs/api.md). So setting one sends every
other name with ``***`` and that one with its value; removing sends the others with
``***``; the answer must still name every secret not touched (else exit 5). A value is
read from a prompt that does not echo it, or from stdin when that is not a terminal:
never from the command line, never shown, never in a log or --verbose line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.confirm import refuse_without_terminal
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from mixpeek_cli.service.client import ApiClient

secrets_app = typer.Typer(no_args_is_help=True)
Yes = Annotated[bool, typer.Option("-y", "--yes", help="Go ahead without asking first.")]


def _names(run: Run, shown: dict[str, Any]) -> str | None:
    if not shown["secrets"]:
        run.reporter.info("no secrets")
        return None
    return "\n".join(printable(name) for name in shown["secrets"])


@secrets_app.command("list")
@command(app=True, render=_names)
def list_secrets(run: Run) -> dict[str, Any]:
    """List the secrets' names, one a line (the service never gives their values)."""
    from mixpeek_cli.service.build_config import secret_names_of

    with run.api() as (app_id, api):
        names = secret_names_of(api.get_app(app_id))
    return {"app_id": app_id, "secrets": names}


@secrets_app.command("set")
@command(app=True)
def set_secret(
    run: Run, key: Annotated[str, typer.Argument(help="The secret's name.", metavar="KEY")]
) -> dict[str, Any]:
    """Set a secret, for the app's server functions only (ctx.env).

    The value comes from a prompt that does not echo it, or from stdin when that is not
    a terminal (printf %s "$TOKEN" | mixpeek secrets set KEY); never from the command line.
    """
    from mixpeek_cli.commands.hidden_value import never_shown, read_hidden_value
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import MASKED, env_vars_of, secret_names_of

    _check_name(key)
    value = read_hidden_value(key)
    if value == MASKED:
        raise UsageError(f"{MASKED} is what answers show for a secret: not a value to set")
    app_id, client = run.client()
    with client as api, never_shown(value):
        app = api.get_app(app_id)
        names = secret_names_of(app)
        _replace(api, app_id, kept=names, values={key: value}, removed=())
    if key in env_vars_of(app):
        run.reporter.warn(
            f"{key} is an env var too, public in every page: remove it with mixpeek env rm {key}"
        )
    run.reporter.info(f"{'replaced' if key in names else 'set'} the secret {key} of {app_id}")
    return {"app_id": app_id, "set": key, "secrets": _after(names, add=[key])}


@secrets_app.command("rm")
@command(app=True)
def rm_secrets(
    run: Run,
    keys: Annotated[list[str], typer.Argument(help="The secrets to remove.", metavar="KEY...")],
    yes: Yes = False,
) -> dict[str, Any]:
    """Remove secrets; the others are kept. On a terminal it asks first; elsewhere it
    needs --yes (else exit 2, nothing sent). A name the app does not have is skipped."""
    from mixpeek_cli.service.build_config import secret_names_of

    for key in keys:
        _check_name(key)
    refuse_without_terminal(yes, "rm removes secrets")
    with run.api() as (app_id, api):
        names = secret_names_of(api.get_app(app_id))
        present = [key for key in dict.fromkeys(keys) if key in names]
        for key in keys:
            if key not in names:
                run.reporter.warn(f"{key} is not a secret of {app_id}")
        if not present:
            run.reporter.info("nothing to remove")
            return {"app_id": app_id, "removed": [], "secrets": names}
        if not yes and not typer.confirm(
            printable(f"Remove the secrets {', '.join(present)} of {app_id}?"), err=True
        ):
            run.reporter.info("nothing was removed")
            return {"app_id": app_id, "removed": [], "secrets": names}
        kept = [name for name in names if name not in present]
        _replace(api, app_id, kept=kept, values={}, removed=present)
    run.reporter.info(f"removed the secrets {', '.join(present)} of {app_id}")
    return {"app_id": app_id, "removed": present, "secrets": kept}


def _check_name(key: str) -> None:
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import valid_name

    if not valid_name(key):
        raise UsageError(
            f"{key!r} is not a secret name",
            hint="letters, digits and _, not starting with a digit (e.g. STRIPE_KEY)",
        )


def _replace(
    api: ApiClient,
    app_id: str,
    *,
    kept: Iterable[str],
    values: Mapping[str, str],
    removed: Iterable[str],
) -> None:
    """Send the secrets map (``kept`` masked, ``values`` as given) and check the answer."""
    from mixpeek_cli.service.app_admin import update_app
    from mixpeek_cli.service.build_config import check_secrets, secrets_body

    kept = list(kept)
    answer = update_app(api, app_id, secrets_body(kept, values))
    check_secrets(answer, [*kept, *values], removed)


def _after(names: list[str], add: list[str]) -> list[str]:
    return [*names, *(name for name in add if name not in names)]
