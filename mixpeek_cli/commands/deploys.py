"""`mixpeek deploys status|logs`: look at a deploy made earlier, or keep following it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mixpeek_cli.commands import options
from mixpeek_cli.commands.common import api_client, key_redactor, remote_settings
from mixpeek_cli.output.runner import Output, run_command
from mixpeek_cli.printable import printable, printable_json

if TYPE_CHECKING:
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import ProgressTask, Reporter, Unit
    from mixpeek_cli.service.models import DeployInfo

deploys_app = typer.Typer(help="Inspect deploys.", no_args_is_help=True)

T = TypeVar("T")
Sink = Callable[[list[str]], None]

DeployId = Annotated[str, typer.Argument(help="The deploy id `mixpeek deploy` printed.")]


def deploy_json(info: DeployInfo) -> dict[str, Any]:
    """A ``DeployStatusResponse`` as the CLI prints it (docs/scripting.md)."""
    return {
        "app_id": info.app_id,
        "deploy_id": info.deploy_id,
        "status": info.status,
        "environment": info.environment,
        "source": info.source,
        "bundle_s3_key": info.bundle_s3_key,
        "message": info.message,
        "queued_at": info.queued_at,
        "queued_by": info.queued_by,
        "error": info.error,
        "smoke_test": info.smoke_test.to_json() if info.smoke_test else None,
    }


def _verdict(info: DeployInfo, timed_out: bool, console: Console) -> int:
    """The exit code `mixpeek deploy` would give, with its one-line explanation."""
    from mixpeek_cli.errors import ExitCode

    def say(text: str) -> None:
        console.print(printable(text), markup=False, highlight=False, soft_wrap=True)

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


@deploys_app.command()
def status(
    deploy_id: DeployId,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it until it is final.")] = False,
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
    """Show a deploy's status; with --wait, follow it (build log included) like `deploy`."""
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.deploy.follow import follow_deploy

        settings = remote_settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            namespace=namespace,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        app_id, client = api_client(settings, output, console)
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
                        deadline=settings.deadline,
                        trace=output.tracer(console),
                    ),
                )
                info, timed_out = followed.deploy, followed.timed_out
        output.emit({**deploy_json(info), "timed_out": timed_out}, printable(info.status))
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
    namespace: options.Namespace = None,
    poll_interval: options.PollInterval = None,
    timeout: options.Timeout = None,
    json_output: options.Json = False,
    quiet: options.Quiet = False,
    verbose: options.Verbose = False,
) -> None:
    """Print a deploy's build log on stdout; with --follow, until the deploy is final.

    A finished deploy's whole log is printed; a running one's lines so far. With
    --follow the exit code is the deploy's, as for `mixpeek deploy`.
    """
    output = Output(json=json_output, quiet=quiet, verbose=verbose, redact=key_redactor(api_key))

    def body(console: Console, reporter: Reporter) -> int:
        from mixpeek_cli.deploy.follow import follow_deploy, read_log

        settings = remote_settings(
            reporter,
            app=app,
            api_key=api_key,
            base_url=base_url,
            namespace=namespace,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        app_id, client = api_client(settings, output, console)
        collected: list[str] = []

        def sink(lines: list[str]) -> None:
            if output.json:
                collected.extend(lines)
            else:
                # The build's own lines: shown, not obeyed (see mixpeek_cli.printable).
                output.result("\n".join(printable(line) for line in lines))

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
                        deadline=settings.deadline,
                        trace=output.tracer(console),
                    ),
                )
                info, timed_out = followed.deploy, followed.timed_out
            else:
                read = _interruptible(
                    deploy_id, lambda: read_log(api, info, deadline=settings.deadline)
                )
                if read.lines:
                    sink(read.lines)
                if not read.available:
                    reporter.warn("this server offers no build log stream for the deploy")
                elif not read.complete and not info.final:
                    reporter.info(
                        f"deploy {deploy_id} is still {info.status}; for the rest: "
                        f"mixpeek deploys logs {deploy_id} --follow"
                    )
                elif not read.complete:
                    reporter.warn(
                        "the log stream stalled or ended without its end mark: "
                        "the log above may be incomplete; run the command again"
                    )
        if output.json:
            output.result(
                printable_json({**deploy_json(info), "timed_out": timed_out, "lines": collected})
            )
        if not follow:
            return 0
        return _verdict(info, timed_out, console)

    raise typer.Exit(run_command(output, body))


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
