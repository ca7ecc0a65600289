"""`mixpeek deploy`: flags in, DeployResult out; the work is in mixpeek_cli.deploy.pipeline."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from mixpeek_cli.commands import options, watching
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.output.runner import can_prompt

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter

LOCAL_APP_ID = "local-app"
LOCAL_API_KEY = "local-emulator-key"


@command(app=True, environment=True, poll_interval=True, watch=True)
def deploy(
    run: Run,
    path: options.PathArg = Path("."),
    message: Annotated[
        str | None,
        typer.Option("-m", "--message", help="What changed [default: the HEAD commit's subject]."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow the deploy until it is final.")
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build the bundle and show what would be sent.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option("--local", help="Deploy to an emulator started for this run (no account)."),
    ] = False,
    include_secret: options.IncludeSecret = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            metavar="REV",
            help="Deploy this commit's files from git, not the working tree "
            "[message: its subject].",
        ),
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="upload (bundle and upload PATH) or git (send the commit; the service "
            "fetches it: it must be pushed).",
        ),
    ] = "upload",
    build_command: options.BuildCommand = None,
    output_dir: options.OutputDir = None,
    no_build: options.NoBuild = False,
    no_bundle_check: options.NoBundleCheck = False,
) -> int:
    """With a build command it runs first; with an output directory, that directory's
    contents are what ships (a built frontend's dist/, build/ or out/). With neither set
    (flag, env or mixpeek.toml), a frontend mixpeek init detects is built and its output
    ships, and the CLI says so.

    With --watch, the live version's error rate is watched once it is complete, and with
    --rollback-on-failure an unhealthy version is replaced by the one served before
    (docs/reliability.md, "The safety net").
    """
    from mixpeek_cli.bundle.secrets.files import bundle_paths
    from mixpeek_cli.deploy.report import render_deploy
    from mixpeek_cli.deploy.request import DeployRequest, check_directory

    root = check_directory(path)
    settings = run.resolve(root, build_command=build_command, output_dir=output_dir)
    plan = run.watch_plan(follows=wait and not dry_run)
    request = DeployRequest(
        path=root,
        message=message,
        wait=wait,
        dry_run=dry_run,
        include_secrets=frozenset(bundle_paths(root, include_secret or [])),
        ref=ref,
        source=_source(source),
        build=not no_build,
        bundle_check=not no_bundle_check,
        quiet=run.output.quiet,
        audit=dry_run and run.output.json,
    )
    if not local or dry_run:
        result = watching.deploy_and_watch(settings, request, plan, run.reporter, run.trace)
        return render_deploy(result, run.output, run.console)
    with _local_emulator(run.reporter) as base:
        settings = _for_emulator(settings, base)
        result = watching.deploy_and_watch(settings, request, plan, run.reporter, run.trace)
        code = render_deploy(result, run.output, run.console)
        if code == 0 and result.url and not run.output.json and can_prompt():
            _serve_until_interrupted(run.console, result.url)
        return code


def _source(value: str) -> Literal["cli_upload", "git"]:
    from mixpeek_cli.errors import UsageError

    if value == "git":
        return "git"
    if value in ("upload", "cli_upload"):
        return "cli_upload"
    raise UsageError(f"invalid --source {value!r}", hint="use upload or git")


def _for_emulator(settings: Settings, base_url: str) -> Settings:
    from dataclasses import replace

    return replace(
        settings,
        base_url=base_url,
        api_key=settings.api_key or LOCAL_API_KEY,
        app_id=settings.app_id or LOCAL_APP_ID,
        # The emulator builds in about a second; poll it briskly.
        poll_interval=min(settings.poll_interval, 0.5),
    )


def _serve_until_interrupted(console: Console, url: str) -> None:
    """On a terminal, keep the embedded emulator up so the printed URL opens in a browser."""
    console.print(
        f"the local emulator serves {url} until you press Ctrl-C", markup=False, highlight=False
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("local emulator stopped", markup=False, highlight=False)


@contextmanager
def _local_emulator(reporter: Reporter) -> Iterator[str]:
    """Start the emulator in-process for one run; stop it however the run ends."""
    from mixpeek_cli.errors import UsageError

    try:
        from mixpeek_cli.emulator import start_emulator
    except ImportError as exc:
        raise UsageError(
            f"--local needs the emulator's packages ({exc.name} is missing)",
            hint="pip install 'mixpeek-cli[emulator]'",
        ) from None
    raw = os.environ.get("MIXPEEK_EMULATOR_BUILD_SECONDS", "1.0")
    try:
        build_seconds = float(raw)
    except ValueError:
        raise UsageError(
            f"invalid MIXPEEK_EMULATOR_BUILD_SECONDS {raw!r}", hint="give a number of seconds"
        ) from None
    handle = start_emulator(build_seconds=build_seconds)
    try:
        reporter.info(f"local emulator running at {handle.base_url}")
        yield handle.base_url
    finally:
        handle.stop()
