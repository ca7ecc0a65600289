"""`mixpeek rollback [VERSION]`: serve an earlier version again, and follow it like a deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.common import key_redactor, remote_settings
from mixpeek_cli.commands.versions import Wait, Yes, run_restore
from mixpeek_cli.output.runner import Output, run_command

if TYPE_CHECKING:
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter


def rollback(
    version: Annotated[
        int | None,
        typer.Argument(
            help="The version to serve [default: the one before what serves now].", min=1
        ),
    ] = None,
    environment: options.Environment = None,
    yes: Yes = False,
    wait: Wait = True,
    app: options.AppId = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    namespace: options.Namespace = None,
    poll_interval: options.PollInterval = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Put an earlier version back into an environment (instant rollback).

    Without VERSION: the version deployed there before the one that serves it now, when
    the records say which that is. On a terminal it asks first, showing what will be
    served; --yes does not ask, and nothing is asked without a terminal or in CI.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        settings = remote_settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            namespace=namespace,
            environment=environment,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        return run_restore(settings, output, console, reporter, version=version, yes=yes, wait=wait)

    raise typer.Exit(run_command(output, body))
