"""`mixpeek deploys status|logs`: look at a deploy made earlier, or keep following it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mixpeek_cli.commands.layer import Result, Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.output.reporter import ProgressTask, Reporter, Unit
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.models import DeployInfo

deploys_app = typer.Typer(no_args_is_help=True)

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


def _verdict(data: dict[str, Any], info: DeployInfo, timed_out: bool) -> Result:
    """The exit code `mixpeek deploy` would give, with its one-line explanation."""
    from mixpeek_cli.errors import ExitCode

    if info.status == "failed":
        why = (
            f"error: deploy {info.deploy_id} failed: {info.error or 'no reason given'}",
            f"full build log: mixpeek deploys logs {info.deploy_id}",
        )
        return Result(data, int(ExitCode.DEPLOY_FAILED), why)
    if timed_out:
        still = (
            f"error: deploy {info.deploy_id} is still {info.status}; check again with: "
            f"mixpeek deploys status {info.deploy_id} --wait"
        )
        return Result(data, int(ExitCode.TIMEOUT), (still,))
    return Result(data)


@deploys_app.command()
@command(app=True, poll_interval=True, render=lambda run, shown: printable(shown["status"]))
def status(
    run: Run,
    deploy_id: DeployId,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it until it is final.")] = False,
) -> Result:
    """Show a deploy's status; with --wait, follow it (build log included) like `deploy`."""
    app_id, client = run.client()
    timed_out = False
    with client as api:
        info = api.get_deploy(app_id, deploy_id)
        if wait and not info.final:
            info, timed_out = _follow(run, api, info, run.reporter)
    return _verdict({**deploy_json(info), "timed_out": timed_out}, info, timed_out)


@deploys_app.command()
@command(app=True, poll_interval=True)  # people see the lines as they come
def logs(
    run: Run,
    deploy_id: DeployId,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new lines until it is final.")
    ] = False,
) -> Result:
    """Print a deploy's build log on stdout; with --follow, until the deploy is final.

    A finished deploy's whole log is printed; a running one's lines so far. With
    --follow the exit code is the deploy's, as for `mixpeek deploy`.
    """
    from mixpeek_cli.deploy.follow import read_log

    app_id, client = run.client()
    collected: list[str] = []

    def sink(lines: list[str]) -> None:
        if run.output.json:
            collected.extend(lines)
        else:
            # The build's own lines: shown, not obeyed (see mixpeek_cli.printable).
            run.output.result("\n".join(printable(line) for line in lines))

    timed_out = False
    with client as api:
        info = api.get_deploy(app_id, deploy_id)
        if follow:
            info, timed_out = _follow(run, api, info, _LogsToStdout(run.reporter, sink))
        else:
            deadline = run.settings.deadline
            read = _interruptible(deploy_id, lambda: read_log(api, info, deadline=deadline))
            if read.lines:
                sink(read.lines)
            if not read.available:
                run.reporter.warn("this server offers no build log stream for the deploy")
            elif not read.complete and not info.final:
                run.reporter.info(
                    f"deploy {deploy_id} is still {info.status}; for the rest: "
                    f"mixpeek deploys logs {deploy_id} --follow"
                )
            elif not read.complete:
                run.reporter.warn(
                    "the log stream stalled or ended without its end mark: "
                    "the log above may be incomplete; run the command again"
                )
    shown = {**deploy_json(info), "timed_out": timed_out, "lines": collected}
    return _verdict(shown, info, timed_out) if follow else Result(shown)


def _follow(
    run: Run, api: ApiClient, info: DeployInfo, reporter: Reporter
) -> tuple[DeployInfo, bool]:
    """Follow the deploy until it is final or the run's time is up: (its info, timed out)."""
    from mixpeek_cli.deploy.follow import follow_deploy

    settings = run.settings
    followed = _interruptible(
        info.deploy_id,
        lambda: follow_deploy(
            api,
            info,
            reporter=reporter,
            poll_interval=settings.poll_interval,
            deadline=settings.deadline,
            trace=run.trace,
        ),
    )
    return followed.deploy, followed.timed_out


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

    def live(self, line: str | None) -> None:
        self._inner.live(line)

    def close(self) -> None:
        self._inner.close()
