"""`mixpeek login`, `logout` and `whoami`: the stored key, and where each setting comes from."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.output.runner import Output, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mixpeek_cli.output.reporter import Reporter


def login(
    api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--api-key-stdin", help="Read the key from stdin (the default when it is not a TTY)."
        ),
    ] = False,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Store an API key in your user config dir (file mode 0600), used when no other is set.

    On a terminal the key is asked for without echo; otherwise it is read from stdin:
    `printenv MIXPEEK_KEY | mixpeek login`.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.credentials import check_key, store_key
        from mixpeek_cli.errors import UsageError
        from mixpeek_cli.output.runner import can_prompt

        if api_key_stdin or not sys.stdin.isatty():
            # One line: a key piped with a trailing newline must not store the newline.
            raw = sys.stdin.readline()
        elif can_prompt():
            raw = typer.prompt("Mixpeek API key", hide_input=True, err=True)
        else:
            raise UsageError(
                "no terminal to ask for the key on",
                hint="pipe it in: printenv MIXPEEK_API_KEY | mixpeek login --api-key-stdin",
            )
        path = store_key(check_key(raw))
        reporter.info(f"API key stored in {path}; it is used when no flag or env var sets one")
        output.emit({"stored": True, "path": str(path)}, str(path))
        return 0

    raise typer.Exit(run_command(output, body))


def logout(
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Remove the key `mixpeek login` stored."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.credentials import credentials_path, remove_key

        path = credentials_path()
        removed = remove_key()
        reporter.info(f"removed {path}" if removed else f"no stored key at {path}")
        if os.environ.get("MIXPEEK_API_KEY"):
            reporter.warn("MIXPEEK_API_KEY is still set in this environment")
        output.emit({"removed": removed, "path": str(path)}, str(path) if removed else "")
        return 0

    raise typer.Exit(run_command(output, body))


def whoami(
    path: Annotated[
        Path, typer.Argument(help="The app's directory (for its mixpeek.toml).", metavar="PATH")
    ] = Path("."),
    app: options.AppId = None,
    environment: options.Environment = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Show the settings a deploy from PATH would use and where each comes from.

    Sources: flag, env (the variable's name), mixpeek.toml, user config (mixpeek
    login), default. The key itself is never shown, not even in part.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.config.credentials import credentials_path, stored_key_reader
        from mixpeek_cli.config.settings import resolve_settings
        from mixpeek_cli.deploy.request import check_directory

        settings = resolve_settings(
            root=check_directory(path),
            env=os.environ,
            api_key=api_key,
            base_url=base_url,
            app_id=app,
            environment=environment,
            stored_key=stored_key_reader(reporter.warn),
        )
        src = settings.sources
        summary = {
            "api_key": {"set": settings.api_key is not None, "source": src.get("api_key")},
            "app_id": {"value": settings.app_id, "source": src.get("app_id")},
            "environment": {"value": settings.environment, "source": src.get("environment")},
            "base_url": {"value": settings.base_url, "source": src.get("base_url")},
            "credentials_file": str(credentials_path()),
        }
        if output.json:
            output.result(json.dumps(summary))
            return 0
        key_state = "set" if settings.api_key else "not set"
        rows = [
            ("api key", key_state, src.get("api_key")),
            ("app id", settings.app_id or "not set", src.get("app_id")),
            ("environment", settings.environment, src.get("environment")),
            ("base url", settings.base_url, src.get("base_url")),
        ]
        lines = [
            f"{name + ':':<13}{value}" + (f" (from {source})" if source != "unset" else "")
            for name, value, source in rows
        ]
        lines.append(f"{'login file:':<13}{summary['credentials_file']}")
        output.result("\n".join(lines))
        return 0

    raise typer.Exit(run_command(output, body))
