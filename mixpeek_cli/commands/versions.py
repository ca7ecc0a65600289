"""`mixpeek versions list|show|diff|download|restore`: every deploy is a numbered version.

What serves each environment comes from the service (history/live.py): the app's
``environments``, else the versions' ``is_active``.

Messages, authors and file paths are the service's text: shown through
:func:`~mixpeek_cli.printable.printable`, and in a table as plain text, never as markup.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from mixpeek_cli.history.live import Live
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.versions import VersionDiff, VersionRecord

versions_app = typer.Typer(no_args_is_help=True)

Version = Annotated[int, typer.Argument(help="A version number (mixpeek versions list).", min=1)]
EnvFilter = Annotated[
    str | None,
    typer.Option("-e", "--environment", help="Only versions deployed to or serving it."),
]


def version_json(record: VersionRecord, live: Live | None = None) -> dict[str, Any]:
    """A version record as the CLI prints it: the fields it read, and the record itself.

    ``serving``: where it is live (``live``, what the service says); None when the
    service says nothing about any environment."""
    serving = record.serving
    if live is not None and live.serving:
        serving = tuple(live.where(record.version))
    return {
        "version": record.version,
        "message": record.message,
        "git_commit_sha": record.git_sha,
        "author": record.who,
        "created_at": record.when,
        "environment": record.environment,
        "serving": list(serving) if serving is not None else None,
        "content_hash": record.content_hash,
        "deploy_id": record.deploy_id,
        "record": record.raw,
    }


def describe(record: VersionRecord) -> str:
    """One line about a version, for questions and messages."""
    from mixpeek_cli.output.formats import age

    details = [
        f'"{printable(record.message)}"' if record.message else None,
        record.git_sha[:7] if record.git_sha else None,
        age(record.when) if record.when else None,
    ]
    shown = ", ".join(d for d in details if d)
    return f"version {record.version}" + (f" ({shown})" if shown else "")


def _show_versions(run: Run, listed: dict[str, Any]) -> str | None:
    records: list[dict[str, Any]] = listed["versions"]
    if not records:
        run.reporter.info(f"no versions of {listed['app_id']} yet: mixpeek deploy makes the first")
        return None
    if not sys.stdout.isatty():
        return "\n".join("\t".join(_row(r)) for r in records)
    _print_table(records)
    return None


@versions_app.command("list")
@command(app=True, render=_show_versions)
def list_versions(
    run: Run,
    environment: EnvFilter = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many, newest first.")] = 20,
) -> dict[str, Any]:
    """List the app's versions, newest first: a table on a terminal, tab-separated lines
    otherwise (version, serving, sha, age, author, message)."""
    from mixpeek_cli.config.settings import check_environment
    from mixpeek_cli.errors import UsageError

    if environment is not None:
        check_environment(environment)
    if not 1 <= limit <= 1000:
        raise UsageError(f"invalid --limit {limit}", hint="give a number from 1 to 1000")
    from mixpeek_cli.history.live import find_live

    with run.api() as (app_id, api):
        records = api.list_versions(app_id)
        live = find_live(api, app_id, records)
    if environment is not None:
        records = [r for r in records if _concerns(r, environment, live)]
    records = records[:limit]
    return {
        "app_id": app_id,
        "versions": [version_json(r, live) for r in records],
        # environment -> the version it serves (null: nothing); unknown ones left out.
        "live": {env: live.version(env) for env in sorted(live.serving)},
        "live_from": live.source,
    }


def _concerns(record: VersionRecord, environment: str, live: Live) -> bool:
    return record.environment == environment or live.version(environment) == record.version


def _row(record: dict[str, Any]) -> list[str]:
    from mixpeek_cli.output.formats import age

    serving = record["serving"]
    sha = record["git_commit_sha"]
    cells = [
        str(record["version"]),
        ",".join(serving) if serving else "-",
        sha[:7] if sha else "-",
        age(record["created_at"]),
        record["author"] or "-",
        record["message"] or "-",
    ]
    # One line per version, tab-separated: no newline or tab inside a cell.
    return [printable(" ".join(cell.split())) or "-" for cell in cells]


def _print_table(records: list[dict[str, Any]]) -> None:
    from rich.console import Console as Out
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("VERSION", "SERVING", "SHA", "WHEN", "AUTHOR", "MESSAGE"):
        table.add_column(column, overflow="fold" if column == "MESSAGE" else "ellipsis")
    for record in records:
        # Text, not a str: a str cell is read as markup ("[link=...]" makes a link).
        table.add_row(*(Text(cell) for cell in _row(record)))
    Out(highlight=False).print(table)


@versions_app.command("show")
@command(app=True, render=lambda run, shown: _show_text(shown))
def show(
    run: Run,
    version: Version,
    files: Annotated[
        bool, typer.Option("--files", help="List its files (path and size), not just count them.")
    ] = False,
) -> dict[str, Any]:
    """Show one version: message, who and when, git fields, environment, build time,
    where it is live, its files (count and total size; --files lists them) and its source
    files' paths. --json gives the service's detail too."""
    from mixpeek_cli.history.live import from_app
    from mixpeek_cli.history.show import version_detail_json

    app_id, client = run.client()
    live_in = None
    with client as api:
        detail = _detail_of_known(api, app_id, version)
        if detail.record.serving is None:
            # No is_active in the detail: the app's environments may say (by asset_prefix).
            live = from_app(api.get_app(app_id).environments, [detail.record])
            live_in = live.where(version) if live.serving else None
    return {"app_id": app_id, **version_detail_json(detail, list_files=files, live_in=live_in)}


def _detail_of_known(api: ApiClient, app_id: str, version: int) -> Any:
    """The version's detail; a version the list does not hold is a usage error (exit 2)."""
    from mixpeek_cli.errors import ApiError, UsageError
    from mixpeek_cli.history.selection import LIST_HINT, find

    try:
        return api.get_version(app_id, version)
    except ApiError as exc:
        if exc.status_code != 404:
            raise
        records = api.list_versions(app_id)
        if find(records, version) is not None:
            raise
        known = ", ".join(str(r.version) for r in records[:10]) or "none yet"
        raise UsageError(
            f"app {app_id} has no version {version} (newest: {known})", hint=LIST_HINT
        ) from None


def _show_text(shown: dict[str, Any]) -> str:
    from mixpeek_cli.history.show import detail_lines

    return "\n".join(printable(line) for line in detail_lines(shown))


@versions_app.command("diff")
@command(app=True, render=lambda run, changes: _diff_text(changes))
def diff(
    run: Run,
    versions: Annotated[
        list[str], typer.Argument(help="Two versions: A B, or A..B.", metavar="A [B]")
    ],
    source: Annotated[
        bool,
        typer.Option("--source", help="Print the unified diff of the source files (patch-ready)."),
    ] = False,
) -> Any:
    """Show what changed from version A to version B: files added, removed and modified
    (with their size change) and a summary; with --source, the source files' unified diff."""
    first, second = _pair(versions)
    with run.api() as (app_id, api):
        changes = _diff_of_known(api, app_id, first, second)
    if source and not run.output.json:
        _print_source(changes, run.reporter)
        return 0
    return {"app_id": app_id, **_diff_json(changes)}


def _diff_of_known(api: ApiClient, app_id: str, first: int, second: int) -> VersionDiff:
    """The diff; a version that does not exist is a usage error (exit 2), as for rollback."""
    from mixpeek_cli.errors import ApiError, UsageError
    from mixpeek_cli.history.selection import LIST_HINT, find

    try:
        return api.diff_versions(app_id, first, second)
    except ApiError as exc:
        if exc.status_code != 404:
            raise
        # Which one is missing? The list says; a 404 for another reason stays exit 5.
        records = api.list_versions(app_id)
        missing = [n for n in (first, second) if find(records, n) is None]
        if not missing:
            raise
        known = ", ".join(str(r.version) for r in records[:10]) or "none yet"
        raise UsageError(
            f"app {app_id} has no version {' or '.join(map(str, missing))} (newest: {known})",
            hint=LIST_HINT,
        ) from None


def _pair(values: list[str]) -> tuple[int, int]:
    from mixpeek_cli.errors import UsageError

    joined = " ".join(values)
    match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.|\s)\s*(\d+)\s*", joined)
    if match is None:
        raise UsageError(
            f"invalid versions {joined!r}", hint="give two version numbers: A B, or A..B"
        )
    return int(match.group(1)), int(match.group(2))


def _diff_json(changes: VersionDiff) -> dict[str, Any]:
    return {
        "from_version": changes.from_version,
        "to_version": changes.to_version,
        "files": [
            {
                "path": c.path,
                "status": c.status,
                "old_size": c.old_size,
                "new_size": c.new_size,
                "size_delta": c.size_delta,
            }
            for c in changes.files
        ],
        "summary": changes.summary,
        "source_diff": changes.source_diff,
    }


def _signed_bytes(n: int | None) -> str:
    from mixpeek_cli.output.formats import human_bytes

    if n is None:
        return "?"
    return ("+" if n >= 0 else "-") + human_bytes(abs(n))


def _diff_text(changes: dict[str, Any]) -> str:
    from mixpeek_cli.output.formats import human_bytes

    def size(n: int | None) -> str:
        return human_bytes(n) if n is not None else "?"

    lines = [f"version {changes['from_version']} -> {changes['to_version']}"]
    shown = [c for c in changes["files"] if c["status"] != "unchanged"]
    width = max((len(printable(c["path"])) for c in shown), default=0)
    for change in shown:
        old, new = change["old_size"], change["new_size"]
        if change["status"] == "added":
            delta = _signed_bytes(new)
        elif change["status"] == "removed":
            delta = _signed_bytes(-old if old is not None else None)
        else:
            delta = f"{size(old)} -> {size(new)} ({_signed_bytes(change['size_delta'])})"
        lines.append(
            printable(f"{change['status']:<9} {printable(change['path']):<{width}}  {delta}")
        )
    counts = changes["summary"] or _count(changes["files"])
    order = ("added", "removed", "modified", "unchanged")
    lines.append(printable(", ".join(f"{counts.get(k, 0)} {k}" for k in order)))
    return "\n".join(lines)


def _count(files: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in files:
        counts[change["status"]] = counts.get(change["status"], 0) + 1
    return counts


def _print_source(changes: VersionDiff, reporter: Reporter) -> None:
    if not changes.source_diff:
        reporter.info(
            f"no source diff between versions {changes.from_version} and {changes.to_version} "
            "(the service diffs source_files only when both versions have them)"
        )
        return
    text = "".join(
        patch if patch.endswith("\n") else patch + "\n"
        for _, patch in sorted(changes.source_diff.items())
    )
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        # On a terminal the patch is read: shown, not obeyed. Into a pipe it stays the
        # patch as the service gave it, byte for byte, for `git apply` (as `git diff` does).
        shown = printable(text, keep_newlines=True)
        Console().print(Syntax(shown, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


@versions_app.command("download")
@command(app=True, render=lambda run, done: done["path"])
def download(
    run: Run,
    version: Version,
    output_file: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write the zip [default: <slug>-v<N>.zip]."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    extract: Annotated[
        Path | None,
        typer.Option("--extract", help="Also unpack it into this directory.", metavar="DIR"),
    ] = None,
) -> dict[str, Any]:
    """Download a version's bundle zip, check it is whole, and print its path."""
    from mixpeek_cli.errors import MixpeekError, UsageError
    from mixpeek_cli.history.download import download_zip, extract_safely

    with run.api() as (app_id, api):
        target = output_file
        if target is None:
            from mixpeek_cli.service.urls import valid_slug

            try:
                slug = api.get_app(app_id).slug or app_id
            except MixpeekError:
                slug = app_id  # the name is a courtesy: the download can go on
            # The service's slug names a local file only when it is of the published
            # pattern: "../x" or "a/b" would write elsewhere than the current folder.
            target = Path(f"{slug if valid_slug(slug) else app_id}-v{version}.zip")
        if target.exists() and not force:
            raise UsageError(
                f"{target} already exists", hint="pass --force to replace it, or -o FILE"
            )
        link = api.version_download(app_id, version)
    deadline = run.settings.deadline
    size = download_zip(link.download_url, target, run.reporter, deadline=deadline, force=force)
    extracted = None
    if extract is not None:
        names = extract_safely(target, extract)
        extracted = str(extract)
        run.reporter.info(f"unpacked {len(names)} files into {extract}")
    return {
        "app_id": app_id,
        "version": version,
        "path": str(target),
        "bytes": size,
        "extracted_to": extracted,
    }


# `versions restore` and `rollback` are one command with two ways to name the version.
Yes = Annotated[bool, typer.Option("-y", "--yes", help="Restore without asking first.")]
Wait = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Follow the restore until it is final.")
]
restoring = command(app=True, environment=True, poll_interval=True)


@versions_app.command("restore")
@restoring
def restore(run: Run, version: Version, yes: Yes = False, wait: Wait = True) -> int:
    """Serve VERSION in an environment again (instant rollback); follows it like a deploy.

    On a terminal it asks first, showing what will be served; --yes does not ask, and
    nothing is ever asked without a terminal or in CI. `mixpeek rollback` is the same call.
    """
    return restore_version(run, version, yes=yes, wait=wait)


@restoring
def rollback(
    run: Run,
    version: Annotated[
        int | None,
        typer.Argument(
            help="The version to serve [default: the one before what serves now].", min=1
        ),
    ] = None,
    yes: Yes = False,
    wait: Wait = True,
) -> int:
    """Without VERSION: the version deployed there before the one that serves it now, when
    the records say which that is. On a terminal it asks first, showing what will be
    served; --yes does not ask, and nothing is asked without a terminal or in CI.
    """
    return restore_version(run, version, yes=yes, wait=wait)


def restore_version(run: Run, version: int | None, *, yes: bool, wait: bool) -> int:
    """Restore ``version`` (None: the one before what serves now) to the environment."""
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.deploy.report import render_restore
    from mixpeek_cli.deploy.restore import RestoreResult, restore_and_follow
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.history.live import find_live
    from mixpeek_cli.history.selection import LIST_HINT, find, rollback_target, serving

    settings = run.settings
    environment = settings.environment
    with run.api() as (app_id, api):
        records = api.list_versions(app_id)
        live = find_live(api, app_id, records, wanted=(environment,))
        current: VersionRecord | None
        if version is None:
            current, target = rollback_target(records, environment, live)
            run.reporter.info(
                f"rollback of {environment}: from {describe(current)} to {describe(target)}"
            )
        else:
            chosen = find(records, version)
            if chosen is None:
                known = ", ".join(str(r.version) for r in records[:10]) or "none yet"
                raise UsageError(
                    f"app {app_id} has no version {version} (newest: {known})", hint=LIST_HINT
                )
            target, current = chosen, serving(records, environment, live)
        if current is not None and current.version == target.version:
            run.reporter.info(
                f"{environment} already serves {describe(target)}: restoring it again"
            )
        if not _confirmed(app_id, environment, current, target, yes):
            run.reporter.info("nothing was restored")
            return 0
        result = RestoreResult(
            app_id=app_id,
            version=target.version,
            environment=environment,
            previous_version=current.version if current else None,
            waited=wait,
        )
        site = AppLookup(api, app_id, settings.base_url, run.trace)
        restore_and_follow(
            api, result, settings=settings, reporter=run.reporter, site=site, trace=run.trace
        )
    return render_restore(result, run.output, run.console)


def _confirmed(
    app_id: str,
    environment: str,
    current: VersionRecord | None,
    target: VersionRecord,
    yes: bool,
) -> bool:
    from mixpeek_cli.output.runner import can_prompt

    # Without a terminal (scripts, CI) nothing is asked: a restore is its own undo, and
    # scripts have always run `rollback` so (docs/history.md).
    if yes or not can_prompt():
        return True
    now = describe(current) if current else "an unknown version (the service does not say)"
    typer.echo(f"{environment} of {app_id} serves {now}.", err=True)
    return typer.confirm(f"Serve {describe(target)} in {environment} instead?", err=True)
