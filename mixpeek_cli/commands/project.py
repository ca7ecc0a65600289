"""`mixpeek init` and `mixpeek link APP_ID`: write the app id into mixpeek.toml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.output.runner import Output, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mixpeek_cli.output.reporter import Reporter

ProjectDir = Annotated[
    Path, typer.Argument(help="The app's directory (where mixpeek.toml goes).", metavar="PATH")
]


def _validate(root: Path, app_id: str, environment: str | None) -> None:
    from mixpeek_cli.config.settings import resolve_settings

    # The same checks a deploy applies, so a file init writes is one deploy accepts.
    resolve_settings(root=root, env={}, app_id=app_id, environment=environment)


def init(
    path: ProjectDir = Path("."),
    app: options.AppId = None,
    environment: options.Environment = None,
    yes: Annotated[
        bool, typer.Option("-y", "--yes", help="Ask nothing; take everything from flags.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the app id of an existing mixpeek.toml.")
    ] = False,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Create mixpeek.toml for PATH: asks on a terminal, takes flags everywhere else."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.project_file import set_keys
        from mixpeek_cli.config.settings import DEFAULT_ENVIRONMENT, PROJECT_FILE, read_project_file
        from mixpeek_cli.deploy.request import check_directory
        from mixpeek_cli.errors import UsageError
        from mixpeek_cli.output.runner import can_prompt

        root = check_directory(path)
        existing = read_project_file(root)
        if existing.get("app_id") and not force:
            raise UsageError(
                f"{root / PROJECT_FILE} already names app {existing['app_id']!r}",
                hint="change it with mixpeek link APP_ID, or pass --force",
            )
        ask = can_prompt() and not yes
        app_id = app
        if app_id is None and ask:
            app_id = typer.prompt("App id (from the Mixpeek dashboard)", err=True).strip()
        if not app_id:
            raise UsageError(
                "no app id", hint="pass --app APP_ID (nothing is asked without a terminal)"
            )
        chosen_env = environment
        if chosen_env is None and ask:
            chosen_env = typer.prompt(
                "Environment (staging or production)",
                default=existing.get("environment", DEFAULT_ENVIRONMENT),
                err=True,
            ).strip()
        _validate(root, app_id, chosen_env)
        values = {"app_id": app_id}
        if chosen_env:
            values["environment"] = chosen_env
        written = set_keys(root, values)
        for key, old in written.previous.items():
            reporter.info(f"{key} was {old!r}, now {values[key]!r}")
        reporter.info(f"{'wrote' if written.created else 'updated'} {written.path}")
        output.emit(
            {
                "path": str(written.path),
                "created": written.created,
                "app_id": app_id,
                "environment": chosen_env,
            },
            str(written.path),
        )
        return 0

    raise typer.Exit(run_command(output, body))


def link(
    app_id: Annotated[str, typer.Argument(help="The app to deploy PATH to.", metavar="APP_ID")],
    path: ProjectDir = Path("."),
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Point PATH at APP_ID: set app_id in its mixpeek.toml, keeping everything else."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.project_file import set_keys
        from mixpeek_cli.deploy.request import check_directory

        root = check_directory(path)
        _validate(root, app_id, None)
        written = set_keys(root, {"app_id": app_id})
        previous = written.previous.get("app_id")
        if previous is not None:
            reporter.info(f"app_id was {previous!r}, now {app_id!r}")
        reporter.info(f"linked {root} to app {app_id} in {written.path}")
        output.emit(
            {
                "path": str(written.path),
                "created": written.created,
                "app_id": app_id,
                "previous_app_id": previous,
            },
            str(written.path),
        )
        return 0

    raise typer.Exit(run_command(output, body))
