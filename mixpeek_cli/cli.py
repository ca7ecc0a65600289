"""The `mixpeek` command: wires subcommands together and nothing else.

Start-up matters (it runs in every pre-push hook), so this module and the command
modules import only typer; the stages load their libraries when they run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mixpeek_cli import __version__
from mixpeek_cli.commands.apps import apps_app, open_app
from mixpeek_cli.commands.auth import login, logout, whoami
from mixpeek_cli.commands.bundle import bundle
from mixpeek_cli.commands.deploy import deploy
from mixpeek_cli.commands.deploys import deploys_app
from mixpeek_cli.commands.emulator import emulator
from mixpeek_cli.commands.hooks import hooks_app
from mixpeek_cli.commands.logs import logs
from mixpeek_cli.commands.project import init, link
from mixpeek_cli.commands.rollback import rollback
from mixpeek_cli.commands.versions import versions_app

app = typer.Typer(
    name="mixpeek",
    help="Deploy Mixpeek Canvas Apps.",
    no_args_is_help=True,
    add_completion=True,
    # Pretty tracebacks would print local variables, API keys among them.
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(deploy)
app.command()(bundle)
app.command()(emulator)
app.add_typer(deploys_app, name="deploys")
app.add_typer(versions_app, name="versions")
app.command()(rollback)
app.command()(logs)
app.add_typer(apps_app, name="apps")
app.command("open")(open_app)
app.add_typer(hooks_app, name="hooks")
app.command()(init)
app.command()(link)
app.command()(login)
app.command()(logout)
app.command()(whoami)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mixpeek-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Deploy Mixpeek Apps from a terminal, a script, a CI job or a git hook."""


def main() -> None:
    app()
