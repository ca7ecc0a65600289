"""`mixpeek hooks install|uninstall|pre-push`: deploy on `git push`, from git's objects."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands import options, watching
from mixpeek_cli.commands.layer import Run, command

if TYPE_CHECKING:
    from mixpeek_cli.deploy.result import DeployResult

hooks_app = typer.Typer(no_args_is_help=True)

Branch = Annotated[
    str | None,
    typer.Option(
        "--branch", "-b", help="Deploy pushes to this branch [default: the current branch]."
    ),
]
Block = Annotated[
    bool,
    typer.Option("--block/--no-block", help="Stop the push when the deploy fails."),
]


@hooks_app.command()
@command(watch=True, render=lambda run, done: done["hook"])
def install(
    run: Run,
    path: Annotated[
        Path, typer.Argument(help="The app's directory, inside the repository.", metavar="PATH")
    ] = Path("."),
    environment: options.Environment = None,
    branch: Branch = None,
    block: Block = True,
    chain: Annotated[
        bool,
        typer.Option("--chain", help="Keep a pre-push hook already there and run it first."),
    ] = False,
) -> dict[str, Any]:
    """Write a pre-push hook that deploys each push of BRANCH with `mixpeek deploy --ref`
    (and, with --watch, watches it as `mixpeek deploy --watch` does)."""
    from mixpeek_cli.config.settings import check_environment
    from mixpeek_cli.deploy.request import check_directory
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.git.hooks import current_branch, hook_paths, install_hook, render_script

    root = check_directory(path)
    if environment is not None:
        check_environment(environment)
    plan = run.watch_plan(follows=True)
    flags = run.flags
    watch_args = [] if flags.watch is None else ["--watch", flags.watch]
    if plan is not None:
        interval, limit = flags.watch_interval, flags.max_error_rate
        watch_args += [] if interval is None else ["--watch-interval", f"{interval:g}"]
        watch_args += [] if limit is None else ["--max-error-rate", f"{limit:g}"]
        watch_args += ["--rollback-on-failure"] if flags.rollback_on_failure else []
    paths = hook_paths(root)
    chosen = branch or current_branch(root)
    if not chosen:
        raise UsageError("HEAD is detached: no branch to deploy", hint="pass --branch NAME")
    app_path = Path(os.path.relpath(root, os.path.realpath(paths.top))).as_posix()
    script = render_script(
        python=sys.executable,
        branch=chosen,
        app_path=app_path,
        environment=environment,
        block=block,
        watch_args=watch_args,
    )
    done = install_hook(paths, script=script, chain=chain)
    verb = "updated" if done.replaced_own else "installed"
    run.reporter.info(f"{verb} {done.hook}: pushes of {chosen} deploy {app_path}")
    if done.chained:
        run.reporter.info(f"the earlier hook runs first: {done.chained}")
    if not block:
        run.reporter.info("a failed deploy will not stop the push (--no-block)")
    if plan is not None:
        run.reporter.info(f"each deploy is then watched: {' '.join(watch_args)}")
    return {
        "hook": str(done.hook),
        "branch": chosen,
        "path": app_path,
        "environment": environment,
        "block": block,
        "chained": str(done.chained) if done.chained else None,
        "updated": done.replaced_own,
        "watch": watch_args,
    }


@hooks_app.command()
@command(render=lambda run, done: done["hook"] if done["removed"] else "")
def uninstall(
    run: Run,
    path: Annotated[
        Path, typer.Argument(help="A directory inside the repository.", metavar="PATH")
    ] = Path("."),
) -> dict[str, Any]:
    """Remove the pre-push hook mixpeek wrote (and put back a hook it chained to)."""
    from mixpeek_cli.deploy.request import check_directory
    from mixpeek_cli.git.hooks import hook_paths, uninstall_hook

    done = uninstall_hook(hook_paths(check_directory(path)))
    if not done.removed:
        run.reporter.info(f"no pre-push hook at {done.hook}: nothing to remove")
    else:
        run.reporter.info(f"removed {done.hook}")
    if done.restored:
        run.reporter.info(f"restored the earlier hook at {done.restored}")
    return {
        "hook": str(done.hook),
        "removed": done.removed,
        "restored": str(done.restored) if done.restored else None,
    }


@hooks_app.command("pre-push")
# No --api-key: the run masks the environment's key and the stored one.
@command(plain=True, watch=True)
def pre_push(
    run: Run,
    remote: Annotated[str | None, typer.Argument(help="Set by git: the remote's name.")] = None,
    url: Annotated[str | None, typer.Argument(help="Set by git: the remote's URL.")] = None,
    branch: Branch = None,
    app_path: Annotated[
        Path, typer.Option("--path", help="The app's directory, relative to the repository top.")
    ] = Path("."),
    environment: options.Environment = None,
    block: Block = True,
) -> int:
    """What the hook runs: read git's pre-push stdin and deploy the pushed commit.

    Also usable from the pre-commit framework (stages: [pre-push]); see docs/hooks.md.
    """
    from mixpeek_cli.config.credentials import stored_key_reader
    from mixpeek_cli.config.settings import resolve_settings
    from mixpeek_cli.deploy.report import render_deploy
    from mixpeek_cli.deploy.request import DeployRequest, check_directory
    from mixpeek_cli.errors import ExitCode, MixpeekError
    from mixpeek_cli.git.hooks import (
        current_branch,
        hook_paths,
        parse_push_lines,
        refs_from_pre_commit,
        select_refs,
    )
    from mixpeek_cli.git.tree import clean_git_env

    plan = run.watch_plan(follows=True)
    # git exports GIT_DIR & co. to hooks; every git call below (GitPython's included)
    # finds the repository from the app's path instead.
    env = clean_git_env()
    for name in set(os.environ) - set(env):
        del os.environ[name]
    refs = refs_from_pre_commit(env)
    if not refs and not sys.stdin.isatty():
        refs = parse_push_lines(sys.stdin.read())
    paths = hook_paths(Path("."))
    chosen = branch or current_branch(paths.top)
    if not chosen:
        run.reporter.info("mixpeek: HEAD is detached and no --branch was given: nothing deployed")
        refs = []
    targets, skipped = select_refs(refs, chosen or "")
    for reason in skipped:
        run.reporter.info(f"mixpeek: not deploying {reason}")
    root = check_directory(paths.top / app_path)
    results: list[DeployResult] = []
    worst = 0
    for ref in targets:
        run.reporter.info(f"mixpeek: deploying {ref.local_sha[:12]} (push to {ref.remote_ref})")
        try:
            settings = resolve_settings(
                root=root,
                env=env,
                environment=environment,
                stored_key=stored_key_reader(run.reporter.warn),
            )
            result = watching.deploy_and_watch(
                settings,
                DeployRequest(path=root, message=None, ref=ref.local_sha),
                plan,
                run.reporter,
                run.trace,
            )
        except MixpeekError as exc:
            if block:
                exc.hint = (exc.hint + "; " if exc.hint else "") + (
                    "push blocked (skip the hook once with git push --no-verify)"
                )
                raise
            # Not through run_command's failure path: masked here as it would be there.
            why = run.output.redact(exc.one_line())
            run.reporter.warn(f"deploy did not happen: {why} (push goes on: --no-block)")
            continue
        results.append(result)
        # With --json the array printed at the end is the whole result.
        if run.output.json:
            code = int(result.exit_code)
        else:
            code = render_deploy(result, run.output, run.console)
        worst = worst or code
    if run.output.json:
        run.output.result(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    if worst and block:
        run.console.print(
            "mixpeek: push blocked because the deploy did not complete "
            "(skip the hook once with git push --no-verify)",
            markup=False,
        )
        return worst
    if worst:
        run.reporter.warn("the deploy did not complete; pushing anyway (--no-block)")
    return int(ExitCode.OK)
