"""`mixpeek logs`: the running app's runtime (server function) or request logs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable


def _lines(run: Run, found: dict[str, Any]) -> str | None:
    return entry_lines(found["entries"], found["log_type"]) if found["entries"] else None


@command(app=True, render=_lines)
def logs(
    run: Run,
    log_type: Annotated[
        str, typer.Option("--type", help="runtime (server functions) or requests.")
    ] = "runtime",
    since: Annotated[
        str, typer.Option("--since", help="How far back: 30m, 2h, 7d (at most 7d).")
    ] = "1h",
    level: Annotated[
        str | None,
        typer.Option("--level", help="Runtime logs of this level: log, info, warn, error."),
    ] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="At most this many (1-1000).")] = 100,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new entries until Ctrl-C.")
    ] = False,
) -> Any:
    """These are the app's own logs (Canvas keeps 30 days), not a deploy's build log: that is
    `mixpeek deploys logs ID`. With --follow, new entries are polled for and printed once
    each until Ctrl-C, which ends it with exit 0.
    """
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.history import app_logs

    if log_type not in app_logs.LOG_TYPES:
        raise UsageError(f"invalid --type {log_type!r}", hint="use runtime or requests")
    if level is not None and level not in app_logs.LEVELS:
        raise UsageError(f"invalid --level {level!r}", hint="use log, info, warn or error")
    if level is not None and log_type != "runtime":
        raise UsageError("--level filters runtime logs only", hint="drop --level")
    if not 1 <= limit <= 1000:
        raise UsageError(f"invalid --limit {limit}", hint="give a number from 1 to 1000")
    if follow and run.output.json:
        raise UsageError(
            "--json prints one document, so it cannot follow",
            hint="drop --follow, or --json",
        )
    hours = app_logs.since_hours(since)
    with run.api() as (app_id, api):
        if follow:
            try:
                app_logs.follow(
                    api,
                    app_id,
                    log_type=log_type,
                    hours=hours,
                    limit=limit,
                    level=level,
                    show=lambda entries: run.output.result(entry_lines(entries, log_type)),
                )
            except KeyboardInterrupt:
                return 0  # following ends with Ctrl-C: that is how it is used
        entries = api.app_logs(app_id, log_type=log_type, hours=hours, limit=limit, level=level)
    ordered = app_logs.oldest_first(entries)
    if not ordered and not run.output.json:
        run.reporter.info(f"no {log_type} log entries for {app_id} in the last {hours}h")
    return {"app_id": app_id, "log_type": log_type, "entries": ordered}


def entry_lines(entries: list[dict[str, Any]], log_type: str) -> str:
    return "\n".join(entry_line(entry, log_type) for entry in entries)


def entry_line(entry: dict[str, Any], log_type: str) -> str:
    """One entry as one line: its time, then what matters for its type, then the rest.

    The entries are what the app logged: any control sequence in them is shown, not obeyed.
    """
    shown = dict(entry)
    when = str(shown.pop("timestamp", "-"))
    keys: tuple[str, ...]
    if log_type == "requests":
        keys = ("method", "path", "status_code", "duration_ms")
    else:
        keys = ("level", "route_path", "message")
    parts = [when]
    for key in keys:
        value = shown.pop(key, None)
        if value is None:
            continue
        if key == "duration_ms":
            parts.append(f"{value}ms")
        elif key == "route_path":
            parts.append(f"[{value}]")
        else:
            parts.append(" ".join(str(value).split()))
    extra = " ".join(f"{k}={v}" for k, v in shown.items() if v not in (None, ""))
    return printable(" ".join(parts + ([extra] if extra else [])))
