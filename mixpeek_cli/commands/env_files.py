"""`mixpeek env pull` and `env push`: the app's env vars to and from a dotenv file
(registered on the ``env`` group by commands/env_vars.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mixpeek_cli.commands.confirm import refuse_without_terminal
from mixpeek_cli.commands.env_changes import (
    check_name,
    current_env_vars,
    refuse_secrets,
    replace,
    result,
    shown_value,
    told,
)
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

DEFAULT_FILE = ".env.mixpeek"
Yes = Annotated[bool, typer.Option("-y", "--yes", help="Go ahead without asking first.")]
Force = Annotated[
    bool,
    typer.Option("--force", help="Set a value even if it looks like a secret (it is public)."),
]


@command(app=True, render=lambda run, pulled: pulled["path"])
def pull(
    run: Run,
    file: Annotated[
        Path, typer.Argument(help="The dotenv file to write.", metavar="[FILE]")
    ] = Path(DEFAULT_FILE),
) -> dict[str, Any]:
    """Write the env vars to a dotenv file (mode 0600), replacing it; MIXPEEK_API_KEY is
    never written."""
    import os

    from mixpeek_cli.atomic import write_atomically
    from mixpeek_cli.config.dotenv_file import format_dotenv
    from mixpeek_cli.service.build_config import PROXY_KEY, env_vars_of

    with run.api() as (app_id, api):
        current = env_vars_of(api.get_app(app_id))
    written = {k: v for k, v in current.items() if k != PROXY_KEY}
    header = f"The env vars of app {app_id} (mixpeek env pull): public, in every page."
    if PROXY_KEY in current:
        header += f"\n{PROXY_KEY} is set on the app; its value is never written here."
    write_atomically(file, format_dotenv(written, header).encode("utf-8"), mode=0o600)
    os.chmod(file, 0o600)  # a file replaced keeps the new mode; chmod says it on every OS
    run.reporter.info(f"wrote {len(written)} env vars to {file} (mode 0600)")
    return {"app_id": app_id, "path": str(file), "written": list(written)}


@command(app=True)
def push(
    run: Run,
    file: Annotated[Path, typer.Argument(help="The dotenv file to read.", metavar="FILE")],
    yes: Yes = False,
    force: Force = False,
) -> dict[str, Any]:
    """Set every KEY=VALUE of a dotenv file, showing the change first.

    Keys FILE does not name stay as they are. On a terminal it asks; elsewhere it needs
    --yes (else exit 2, nothing sent). MIXPEEK_API_KEY is not taken from a file: use
    `mixpeek env set MIXPEEK_API_KEY`.
    """
    from mixpeek_cli.config.dotenv_file import parse_dotenv
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import PROXY_KEY

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    entries = parse_dotenv(text, str(file))
    changes = {entry.key: entry.value for entry in entries}
    for key in changes:
        check_name(key)
    if PROXY_KEY in changes:
        raise UsageError(
            f"{file} sets {PROXY_KEY}: its value is never taken from a file",
            hint=f"remove it from {file}; set it with mixpeek env set {PROXY_KEY}",
        )
    refuse_secrets(changes, force)
    refuse_without_terminal(yes, "push changes env vars")
    with run.api() as (app_id, api):
        current = current_env_vars(api, app_id)
        added = [k for k in changes if k not in current]
        changed = [k for k in changes if k in current and current[k] != changes[k]]
        for key in added:
            run.say(f"+ {key}={changes[key]}")
        for key in changed:
            run.say(f"~ {key}={changes[key]} (was {shown_value(key, current[key])})")
        new = {**current, **changes}
        asked = f"Set {len(added) + len(changed)} env vars on {app_id}?"
        if (added or changed) and not yes and not typer.confirm(printable(asked), err=True):
            run.reporter.info("nothing was changed")
            return result(app_id, current, added=[], changed=[])
        if added or changed:
            replace(api, app_id, new, removed=())
    told(run, "set", [*added, *changed], changed=bool(added or changed))
    return result(app_id, new, added=added, changed=changed)
