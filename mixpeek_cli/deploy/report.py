"""Render command results: the result on stdout (plain or JSON), the story on stderr.

Much of it comes from the service (ids, statuses, errors, log lines, smoke-test errors)
or the file system (paths): every line goes out through
:func:`~mixpeek_cli.printable.printable`, every JSON document through
:func:`~mixpeek_cli.printable.printable_json`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import ExitCode
from mixpeek_cli.output.formats import human_bytes
from mixpeek_cli.output.runner import Output
from mixpeek_cli.printable import printable, printable_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from mixpeek_cli.deploy.restore import RestoreResult
    from mixpeek_cli.deploy.result import DeployResult
    from mixpeek_cli.deploy.watch import Watched
    from mixpeek_cli.output.console import Console


def dry_run_summary(result: DeployResult) -> list[str]:
    if result.source == "git":
        return [
            "source: git (no bundle: the service fetches the commit)",
            f"message: {result.message}",
            f"environment: {result.environment}",
            f"git_commit_sha: {result.git_commit_sha or '-'}",
            f"git_author: {result.git_author or '-'}",
        ]
    lines = []
    if result.build is not None:
        lines.append(f"build: {result.build['command']} ({result.build['seconds']:.1f} s)")
    lines += [
        f"bundled: {result.output_dir + '/' if result.output_dir else 'PATH'}",
        f"files: {result.file_count} ({human_bytes(result.input_bytes)})",
        f"bundle: {human_bytes(result.bundle_bytes)} ({result.bundle_bytes} bytes)",
        f"sha256: {result.bundle_sha256}",
        f"canvas check: {_check_text(result.bundle_check)}",
        f"source_files: {result.source_files_count} ({_left_out_text(result)})",
        f"message: {result.message}",
        f"environment: {result.environment}",
        f"git_commit_sha: {result.git_commit_sha or '-'}",
        f"git_author: {result.git_author or '-'}",
        "largest files:",
    ]
    lines += [f"  {human_bytes(size):>10}  {path}" for path, size in result.largest_files]
    return lines


def _check_text(check: dict[str, Any] | None) -> str:
    if not check or check.get("skipped"):
        return "skipped (--no-bundle-check)"
    if check.get("ok"):
        return f"ok ({check.get('entry')} is served)"
    return f"refused: {check.get('problem')}"


def _left_out_text(result: DeployResult) -> str:
    left = result.source_files_left_out or {}
    reasons = [
        f"{left.get(key, 0)} {label}"
        for key, label in (
            ("binary", "binary"),
            ("too_large", "too large"),
            ("over_budget", "over the total limit"),
        )
        if left.get(key)
    ]
    return f"{result.source_files_skipped} left out" + (
        f": {', '.join(reasons)}" if reasons else ""
    )


def render_deploy(result: DeployResult, output: Output, console: Console) -> int:
    code = result.exit_code
    if output.json:
        output.result(printable_json(result.to_json()))
    elif result.dry_run:
        output.result("\n".join(printable(line) for line in dry_run_summary(result)))
    elif result.deploy_id:
        output.result(printable(result.deploy_id))
    if output.quiet and code == ExitCode.OK:
        return int(code)
    _tell(result, code, console, quiet=output.quiet)
    return int(code)


def _tell(result: DeployResult, code: ExitCode, console: Console, *, quiet: bool) -> None:
    def say(text: str) -> None:
        console.print(printable(text), highlight=False, soft_wrap=True, markup=False)

    if result.refused and result.bundle_check is not None:
        check = result.bundle_check
        say(f"error: Canvas would refuse this bundle: {check.get('problem')}. {check.get('hint')}")
    if result.dry_run:
        if not quiet:
            say("dry run: nothing was uploaded or deployed")
        return
    deploy = result.deploy_id
    if not result.waited:
        if not quiet:
            say(f"deploy {deploy} created ({result.status}); not waiting (--no-wait)")
            if result.url:
                say(f"it will be served at {result.url}")
            say(f"follow it with: mixpeek deploys status {deploy} --wait")
        return
    if code in (ExitCode.OK, ExitCode.UNHEALTHY):
        where = f": {result.url}" if result.url else ""
        say(f"deploy {deploy} complete{where}")
        _tell_smoke_test(result.smoke_test, console)
        _tell_watch(result.watched, say)
    elif code == ExitCode.DEPLOY_FAILED:
        say(f"error: deploy {deploy} failed: {result.error or 'no reason given by the server'}")
        if result.log_tail and quiet:  # without --quiet they were shown as they came
            say("last build log lines:")
            for line in result.log_tail[-10:]:
                say(f"  | {line}")
        say(f"full build log: mixpeek deploys logs {deploy}")
    elif code == ExitCode.TIMEOUT:
        say(
            f"error: deploy {deploy} is still {result.status} after the timeout; it goes on "
            f"server-side. Check on it later with: mixpeek deploys status {deploy} --wait"
        )
    else:
        say(f"error: deploy {deploy} ended with an unknown status {result.status!r}")


def render_restore(result: RestoreResult, output: Output, console: Console) -> int:
    """A restore's (or promote's) outcome: its deploy id (or JSON) on stdout, the story
    on stderr."""
    code = result.exit_code
    if output.json:
        output.result(printable_json(result.to_json()))
    elif result.deploy_id:
        output.result(printable(result.deploy_id))
    if output.quiet and code == ExitCode.OK:
        return int(code)

    def say(text: str) -> None:
        console.print(printable(text), highlight=False, soft_wrap=True, markup=False)

    deploy, kind = result.deploy_id, result.kind
    if not result.waited:
        say(f"{kind} of version {result.version} to {result.environment} started; not waiting")
        if result.url:
            say(f"it will be served at {result.url}")
        say(f"follow it with: mixpeek deploys status {deploy} --wait")
    elif code in (ExitCode.OK, ExitCode.UNHEALTHY):
        where = f": {result.url}" if result.url else ""
        say(f"{result.environment} now serves version {result.version}{where}")
        _tell_smoke_test(result.smoke_test, console)
        _tell_watch(result.watched, say)
    elif code == ExitCode.DEPLOY_FAILED:
        say(f"error: the {kind} (deploy {deploy}) failed: {result.error or 'no reason given'}")
        say(f"full log: mixpeek deploys logs {deploy}")
    elif code == ExitCode.TIMEOUT:
        say(
            f"error: the {kind} (deploy {deploy}) is still {result.status} after the timeout; "
            f"check on it with: mixpeek deploys status {deploy} --wait"
        )
    else:
        say(f"error: the {kind} (deploy {deploy}) ended with an unknown status {result.status!r}")
    return int(code)


def _tell_watch(watched: Watched | None, say: Callable[[str], None]) -> None:
    if watched is not None:
        from mixpeek_cli.deploy.watch import tell

        tell(watched, say)


def _tell_smoke_test(smoke: dict[str, Any] | None, console: Console) -> None:
    if not smoke:
        return
    took = smoke.get("duration_ms")
    timing = f" in {took:.0f} ms" if isinstance(took, (int, float)) else ""
    where = f" of {smoke['url']}" if smoke.get("url") else ""
    if smoke.get("passed"):
        console.print(printable(f"smoke test{where} passed{timing}"), markup=False, highlight=False)
        return
    errors = "; ".join(str(e) for e in smoke.get("errors") or []) or "no reason given"
    told = printable(f"the smoke test{where} did not pass{timing}: {errors}")
    console.print(
        f"[yellow]warning:[/] {_escape(told)}",
        highlight=False,
        soft_wrap=True,
    )


def _escape(text: str) -> str:
    from mixpeek_cli.output.console import escape

    return escape(text)
