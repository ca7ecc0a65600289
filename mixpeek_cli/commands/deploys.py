"""`mixpeek deploys status ID`: check on (or keep following) a deploy made earlier."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.runner import Output, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mixpeek_cli.reporter import Reporter

deploys_app = typer.Typer(help="Inspect deploys.", no_args_is_help=True)


@deploys_app.command()
def status(
    deploy_id: Annotated[str, typer.Argument(help="The deploy id `mixpeek deploy` printed.")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow it until it is final.")] = False,
    app: options.AppId = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    poll_interval: options.PollInterval = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Show a deploy's status; with --wait, follow it like `mixpeek deploy` does."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.api import ApiClient
        from mixpeek_cli.errors import ExitCode
        from mixpeek_cli.follow import follow_deploy
        from mixpeek_cli.settings import resolve_settings

        settings = resolve_settings(
            root=Path("."),
            env=os.environ,
            api_key=api_key,
            base_url=base_url,
            app_id=app,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        app_id, key = settings.require_remote()
        trace = (lambda line: console.print(f"[dim]http: {line}[/]")) if verbose else None
        timed_out = False
        with ApiClient(settings.base_url, key, trace=trace) as api:
            info = api.get_deploy(app_id, deploy_id)
            if wait and not info.final:
                followed = follow_deploy(
                    api,
                    info,
                    reporter=reporter,
                    poll_interval=settings.poll_interval,
                    timeout=settings.timeout,
                )
                info, timed_out = followed.deploy, followed.timed_out
        if output.json:
            output.result(
                json.dumps(
                    {
                        "app_id": info.app_id,
                        "deploy_id": info.deploy_id,
                        "status": info.status,
                        "environment": info.environment,
                        "message": info.message,
                        "url": info.url,
                        "error": info.error,
                        "created_at": info.created_at,
                        "timed_out": timed_out,
                    }
                )
            )
        else:
            output.result(info.status)
        if info.status == "failed":
            console.print(f"error: deploy {info.deploy_id} failed: {info.error}", markup=False)
            return int(ExitCode.DEPLOY_FAILED)
        if timed_out:
            console.print(
                f"error: deploy {info.deploy_id} is still {info.status}; check again with: "
                f"mixpeek deploys status {info.deploy_id} --wait",
                markup=False,
            )
            return int(ExitCode.TIMEOUT)
        return int(ExitCode.OK)

    raise typer.Exit(run_command(output, body))
