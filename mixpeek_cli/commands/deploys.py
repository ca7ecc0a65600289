"""`mixpeek deploys list|status|logs`: look at deploys made earlier, or keep following one."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.runner import Output, run_command

if TYPE_CHECKING:
    from rich.console import Console

    from mixpeek_cli.api import ApiClient, DeployInfo
    from mixpeek_cli.reporter import ProgressTask, Reporter, Unit
    from mixpeek_cli.settings import Settings

deploys_app = typer.Typer(help="Inspect deploys.", no_args_is_help=True)

T = TypeVar("T")
Sink = Callable[[list[str]], None]

DeployId = Annotated[str, typer.Argument(help="The deploy id `mixpeek deploy` printed.")]


def _settings(
    reporter: Reporter,
    *,
    app: str | None,
    api_key: str | None,
    base_url: str | None,
    poll_interval: float | None = None,
    timeout: float | None = None,
) -> Settings:
    from mixpeek_cli.credentials import stored_key_reader
    from mixpeek_cli.settings import resolve_settings

    return resolve_settings(
        root=Path("."),
        env=os.environ,
        api_key=api_key,
        base_url=base_url,
        app_id=app,
        poll_interval=poll_interval,
        timeout=timeout,
        stored_key=stored_key_reader(reporter.warn),
    )


def _client(settings: Settings, output: Output, console: Console) -> tuple[str, ApiClient]:
    from mixpeek_cli.api import ApiClient

    app_id, key = settings.require_remote()
    return app_id, ApiClient(settings.base_url, key, trace=output.tracer(console))


def deploy_json(info: DeployInfo) -> dict[str, Any]:
    return {
        "app_id": info.app_id,
        "deploy_id": info.deploy_id,
        "status": info.status,
        "environment": info.environment,
        "message": info.message,
        "url": info.url,
        "error": info.error,
        "created_at": info.created_at,
    }


def _verdict(info: DeployInfo, timed_out: bool, console: Console) -> int:
    """The exit code `mixpeek deploy` would give, with its one-line explanation."""
    from mixpeek_cli.errors import ExitCode

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    if info.status == "failed":
        say(f"error: deploy {info.deploy_id} failed: {info.error or 'no reason given'}")
        say(f"full build log: mixpeek deploys logs {info.deploy_id}")
        return int(ExitCode.DEPLOY_FAILED)
    if timed_out:
        say(
            f"error: deploy {info.deploy_id} is still {info.status}; check again with: "
            f"mixpeek deploys status {info.deploy_id} --wait"
        )
        return int(ExitCode.TIMEOUT)
    return int(ExitCode.OK)


@deploys_app.command("list")
def list_deploys(
    environment: Annotated[
        str | None,
        typer.Option("-e", "--environment", help="Only deploys to staging or production."),
    ] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many, newest first.")] = 20,
    app: options.AppId = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """List recent deploys: a table on a terminal, tab-separated lines otherwise."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.errors import UsageError
        from mixpeek_cli.settings import check_environment

        if environment is not None:
            check_environment(environment)
        if not 1 <= limit <= 100:
            raise UsageError(f"invalid --limit {limit}", hint="give a number from 1 to 100")
        settings = _settings(reporter, app=app, api_key=api_key, base_url=base_url)
        app_id, client = _client(settings, output, console)
        with client as api:
            deploys = api.list_deploys(app_id, limit=limit, environment=environment)
        if output.json:
            output.result(json.dumps([deploy_json(d) for d in deploys], ensure_ascii=False))
            return 0
        if not deploys:
            reporter.info(f"no deploys of {app_id} yet")
            return 0
        if sys.stdout.isatty():
            _print_table(deploys)
        else:
            output.result("\n".join("\t".join(_row(d)) for d in deploys))
        return 0

    raise typer.Exit(run_command(output, body))


def _row(info: DeployInfo) -> list[str]:
    from mixpeek_cli.render import age

    message = " ".join((info.message or "").split())
    return [info.deploy_id, info.status, info.environment or "-", age(info.created_at), message]


def _print_table(deploys: list[DeployInfo]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("ID", "STATUS", "ENVIRONMENT", "AGE", "MESSAGE"):
        table.add_column(column, overflow="fold" if column == "MESSAGE" else "ellipsis")
    for deploy in deploys:
        table.add_row(*_row(deploy))
    Console(highlight=False).print(table)


@deploys_app.command()
def status(
    deploy_id: DeployId,
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
        from mixpeek_cli.follow import follow_deploy

        settings = _settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        app_id, client = _client(settings, output, console)
        timed_out = False
        with client as api:
            info = api.get_deploy(app_id, deploy_id)
            if wait and not info.final:
                followed = _interruptible(
                    deploy_id,
                    lambda: follow_deploy(
                        api,
                        info,
                        reporter=reporter,
                        poll_interval=settings.poll_interval,
                        timeout=settings.timeout,
                    ),
                )
                info, timed_out = followed.deploy, followed.timed_out
        output.emit({**deploy_json(info), "timed_out": timed_out}, info.status)
        return _verdict(info, timed_out, console)

    raise typer.Exit(run_command(output, body))


@deploys_app.command()
def logs(
    deploy_id: DeployId,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new lines until it is final.")
    ] = False,
    app: options.AppId = None,
    api_key: options.ApiKey = None,
    base_url: options.BaseUrl = None,
    poll_interval: options.PollInterval = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Print a deploy's build log on stdout; with --follow, until the deploy is final.

    With --follow the exit code is the deploy's, as for `mixpeek deploy`.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose)

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.follow import follow_deploy

        settings = _settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        app_id, client = _client(settings, output, console)
        collected: list[str] = []

        def sink(lines: list[str]) -> None:
            if output.json:
                collected.extend(lines)
            else:
                output.result("\n".join(lines))

        timed_out = False
        with client as api:
            info = api.get_deploy(app_id, deploy_id)
            if follow:
                followed = _interruptible(
                    deploy_id,
                    lambda: follow_deploy(
                        api,
                        info,
                        reporter=_LogsToStdout(reporter, sink),
                        poll_interval=settings.poll_interval,
                        timeout=settings.timeout,
                    ),
                )
                info, timed_out = followed.deploy, followed.timed_out
            elif not _read_all_logs(api, app_id, deploy_id, sink):
                reporter.warn("this server keeps no build logs (its logs endpoint answered 404)")
        if output.json:
            output.result(
                json.dumps(
                    {**deploy_json(info), "timed_out": timed_out, "lines": collected},
                    ensure_ascii=False,
                )
            )
        if not follow:
            return 0
        return _verdict(info, timed_out, console)

    raise typer.Exit(run_command(output, body))


def _read_all_logs(api: ApiClient, app_id: str, deploy_id: str, sink: Sink) -> bool:
    """Page through the log from the start; False when the server has no logs."""
    offset = 0
    while True:
        chunk = api.get_logs(app_id, deploy_id, offset)
        if chunk is None:
            return False
        if chunk.lines:
            sink(chunk.lines)
        if not chunk.lines or chunk.next_offset <= offset:
            return True
        offset = chunk.next_offset


def _interruptible(deploy_id: str, run: Callable[[], T]) -> T:
    from mixpeek_cli.errors import Interrupted

    try:
        return run()
    except KeyboardInterrupt:
        raise Interrupted(
            f"stopped following deploy {deploy_id}; it goes on server-side",
            hint=f"follow it again with: mixpeek deploys status {deploy_id} --wait",
            deploy_id=deploy_id,
        ) from None


class _LogsToStdout:
    """A reporter that sends build log lines to stdout (they are `logs`'s result)."""

    def __init__(self, inner: Reporter, sink: Sink) -> None:
        self._inner = inner
        self._sink = sink

    def info(self, message: str) -> None:
        self._inner.info(message)

    def warn(self, message: str) -> None:
        self._inner.warn(message)

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        return self._inner.progress(description, total, unit)

    def finish_progress(self) -> None:
        self._inner.finish_progress()

    def status(self, status: str, detail: str | None = None) -> None:
        self._inner.status(status, detail)

    def log_lines(self, lines: list[str]) -> None:
        self._sink(lines)

    def close(self) -> None:
        self._inner.close()
