"""`mixpeek env`: the app's env vars (``build_config.env_vars``), which every visitor's
browser sees in ``window.__MIXPEEK__``: list, set, rm, pull, push.

Each change reads the app, sends the whole new map in ``build_config`` and nothing else,
and checks the answer (service/build_config.py: the assumed PATCH rule, docs/api.md). A
value the secret scan recognises is refused unless --force: a secret belongs in
`mixpeek secrets`. ``MIXPEEK_API_KEY`` (it enables the site's /api proxy and is never sent
to the browser) is set from a prompt or stdin only, and its value is never shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mixpeek_cli.commands.app_admin import refuse_without_terminal
from mixpeek_cli.commands.layer import Run, command
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from mixpeek_cli.service.client import ApiClient

env_app = typer.Typer(no_args_is_help=True)
DEFAULT_FILE = ".env.mixpeek"
Yes = Annotated[bool, typer.Option("-y", "--yes", help="Go ahead without asking first.")]
Force = Annotated[
    bool,
    typer.Option("--force", help="Set a value even if it looks like a secret (it is public)."),
]


def _lines(run: Run, shown: dict[str, Any]) -> str | None:
    env_vars = shown["env_vars"]
    if not env_vars:
        run.reporter.info("no env vars")
        return None
    return "\n".join(printable(f"{key}={value}") for key, value in env_vars.items())


@env_app.command("list")
@command(app=True, render=_lines)
def list_env(run: Run) -> dict[str, Any]:
    """List the env vars as KEY=VALUE lines: they are public, in every page of the site
    (MIXPEEK_API_KEY's value is shown as ***)."""
    from mixpeek_cli.service.build_config import env_vars_of, masked_env_vars

    app_id, client = run.client()
    with client as api:
        current = env_vars_of(api.get_app(app_id))
    return {"app_id": app_id, "env_vars": masked_env_vars(current)}


@env_app.command("set")
@command(app=True)
def set_env(
    run: Run,
    pairs: Annotated[
        list[str],
        typer.Argument(
            help="KEY=VALUE, or MIXPEEK_API_KEY alone (its value is asked for).",
            metavar="KEY=VALUE...",
        ),
    ],
    force: Force = False,
) -> dict[str, Any]:
    """Set env vars, KEY=VALUE each; a value that looks like a secret is refused.

    MIXPEEK_API_KEY is given alone: its value comes from a prompt that does not echo it,
    or from stdin when that is not a terminal."""
    from mixpeek_cli.commands.hidden_value import read_hidden_value
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import PROXY_KEY

    changes: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        _check_name(key)
        if key == PROXY_KEY and equals:
            raise UsageError(
                f"{PROXY_KEY}'s value is never taken from the command line: `ps` and the "
                "shell's history keep it",
                hint=f"run mixpeek env set {PROXY_KEY} and give it at the prompt or on stdin",
            )
        if not equals and key != PROXY_KEY:
            raise UsageError(f"{pair!r} is not KEY=VALUE", hint=f"e.g. {key}=on")
        changes[key] = value if equals else read_hidden_value(key)
    _refuse_secrets(changes, force)
    app_id, client = run.client()
    with client as api, _hidden(changes):
        current = _current(api, app_id)
        new = {**current, **changes}
        if new != current:
            _replace(api, app_id, new, removed=())
    _told(run, "set", list(changes), changed=new != current)
    return _result(app_id, new, set=list(changes))


@env_app.command("rm")
@command(app=True)
def rm_env(
    run: Run,
    keys: Annotated[list[str], typer.Argument(help="The env vars to remove.", metavar="KEY...")],
    yes: Yes = False,
) -> dict[str, Any]:
    """Remove env vars. On a terminal it asks first; elsewhere it needs --yes (else exit
    2, nothing sent). A key the app does not have is named and skipped."""
    for key in keys:
        _check_name(key)
    if not yes:
        refuse_without_terminal("rm removes env vars")
    app_id, client = run.client()
    with client as api:
        current = _current(api, app_id)
        present = [key for key in dict.fromkeys(keys) if key in current]
        for key in keys:
            if key not in current:
                run.reporter.warn(f"{key} is not set")
        if present and not yes:
            asked = printable(f"Remove {', '.join(present)} from the env vars of {app_id}?")
            if not typer.confirm(asked, err=True):
                run.reporter.info("nothing was removed")
                return _result(app_id, current, removed=[])
        new = {k: v for k, v in current.items() if k not in present}
        if present:
            _replace(api, app_id, new, removed=present)
    _told(run, "removed", present, changed=bool(present), none="nothing to remove")
    return _result(app_id, new, removed=present)


@env_app.command("pull")
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

    app_id, client = run.client()
    with client as api:
        current = env_vars_of(api.get_app(app_id))
    written = {k: v for k, v in current.items() if k != PROXY_KEY}
    header = f"The env vars of app {app_id} (mixpeek env pull): public, in every page."
    if PROXY_KEY in current:
        header += f"\n{PROXY_KEY} is set on the app; its value is never written here."
    write_atomically(file, format_dotenv(written, header).encode("utf-8"), mode=0o600)
    os.chmod(file, 0o600)  # a file replaced keeps the new mode; chmod says it on every OS
    run.reporter.info(f"wrote {len(written)} env vars to {file} (mode 0600)")
    return {"app_id": app_id, "path": str(file), "written": list(written)}


@env_app.command("push")
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
        _check_name(key)
    if PROXY_KEY in changes:
        raise UsageError(
            f"{file} sets {PROXY_KEY}: its value is never taken from a file",
            hint=f"remove it from {file}; set it with mixpeek env set {PROXY_KEY}",
        )
    _refuse_secrets(changes, force)
    if not yes:
        refuse_without_terminal("push changes env vars")
    app_id, client = run.client()
    with client as api:
        current = _current(api, app_id)
        added = [k for k in changes if k not in current]
        changed = [k for k in changes if k in current and current[k] != changes[k]]
        for key in added:
            run.say(f"+ {key}={changes[key]}")
        for key in changed:
            run.say(f"~ {key}={changes[key]} (was {_shown(key, current[key])})")
        new = {**current, **changes}
        asked = f"Set {len(added) + len(changed)} env vars on {app_id}?"
        if (added or changed) and not yes and not typer.confirm(printable(asked), err=True):
            run.reporter.info("nothing was changed")
            return _result(app_id, current, added=[], changed=[])
        if added or changed:
            _replace(api, app_id, new, removed=())
    _told(run, "set", [*added, *changed], changed=bool(added or changed))
    return _result(app_id, new, added=added, changed=changed)


def _check_name(key: str) -> None:
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import valid_name

    if not valid_name(key):
        raise UsageError(
            f"{key!r} is not an env var name",
            hint="letters, digits and _, not starting with a digit (e.g. FEATURE_FLAG)",
        )


def _refuse_secrets(changes: Mapping[str, str], force: bool) -> None:
    """Exit 2 for a value the secret scan recognises, unless --force."""
    from mixpeek_cli.bundle.secrets.scan import scan_bytes
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.service.build_config import PROXY_KEY

    if force:
        return
    for key, value in changes.items():
        if key == PROXY_KEY:
            continue  # a key by design, and never sent to the browser
        line = f"{key}={value}\n".encode("utf-8", "surrogatepass")
        found = next(iter(scan_bytes(key, line)), None)
        if found is not None:
            raise UsageError(
                f"{key}: this looks like a secret ({found.kind}): use `mixpeek secrets set {key}`",
                hint="env vars are public, in every page; pass --force if this one is meant to be",
            )


def _current(api: ApiClient, app_id: str) -> dict[str, str]:
    from mixpeek_cli.service.build_config import env_vars_of

    return env_vars_of(api.get_app(app_id))


def _replace(api: ApiClient, app_id: str, new: dict[str, str], *, removed: Iterable[str]) -> None:
    """Send ``new`` as the whole map, then check the answer holds it (else exit 5)."""
    from mixpeek_cli.service.app_admin import update_app
    from mixpeek_cli.service.build_config import check_env_vars, env_vars_body

    answer = update_app(api, app_id, env_vars_body(new))
    check_env_vars(answer, new, removed)


def _hidden(changes: Mapping[str, str]) -> Any:
    """The proxy key's value, when set, masked in any failure."""
    from contextlib import nullcontext

    from mixpeek_cli.commands.hidden_value import never_shown
    from mixpeek_cli.service.build_config import PROXY_KEY

    value = changes.get(PROXY_KEY)
    return never_shown(value) if value else nullcontext()


def _shown(key: str, value: str) -> str:
    from mixpeek_cli.service.build_config import MASKED, PROXY_KEY

    return MASKED if key == PROXY_KEY else value


def _told(
    run: Run,
    what: str,
    keys: list[str],
    *,
    changed: bool,
    none: str = "nothing to change: the app has these values already",
) -> None:
    if not changed:
        run.reporter.info(none)
        return
    run.reporter.info(f"{what} {', '.join(keys)} (pages show the change from their next load)")


def _result(app_id: str, env_vars: Mapping[str, str], **change: list[str]) -> dict[str, Any]:
    from mixpeek_cli.service.build_config import masked_env_vars

    return {"app_id": app_id, **change, "env_vars": masked_env_vars(env_vars)}
