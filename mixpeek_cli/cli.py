"""The `mixpeek` command: the typer app, which builds only the command being run.

Start-up matters (it runs in every pre-push hook and CI job): typer turns every parameter
of every registered command into a click parameter before it parses anything. So the
root knows its commands by name and one-line summary only (:data:`COMMANDS`), imports the
module of the command being invoked and builds just that one; the help listing comes
from the table. Command modules import only typer and the command layer
(``commands/layer.py``); the stages load their libraries when they run.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mixpeek_cli import __version__

# click's UsageError (unknown option, bad value, missing argument: exit 2), reached through
# typer's public BadParameter, a subclass of it: typer re-exports no UsageError, and where
# click lives depends on typer's version (the click package, or typer's own copy of it).
_USAGE_ERROR: Any = next(
    (cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError"),
    typer.BadParameter,
)

# name -> (module, attribute: a command function or a typer sub-app, one-line summary).
# The summary is written here only: it heads the command's --help, before its docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "deploy": (
        "mixpeek_cli.commands.deploy",
        "deploy",
        "Build and bundle PATH, upload it and deploy it; follow the deploy until it is final.",
    ),
    "bundle": (
        "mixpeek_cli.commands.bundle",
        "bundle",
        "Write the bundle `mixpeek deploy` would upload (after the build), and print its summary.",
    ),
    "dev": (
        "mixpeek_cli.commands.dev",
        "dev",
        "Run the app in PATH on this machine as Canvas does: pages, /api, server functions.",
    ),
    "emulator": (
        "mixpeek_cli.commands.emulator",
        "emulator",
        "Run a local emulator of the Mixpeek API (and S3) for trying the CLI and for tests.",
    ),
    "deploys": ("mixpeek_cli.commands.deploys", "deploys_app", "Inspect deploys."),
    "versions": (
        "mixpeek_cli.commands.versions",
        "versions_app",
        "An app's versions: list, show, compare, download and restore them.",
    ),
    "rollback": (
        "mixpeek_cli.commands.versions",
        "rollback",
        "Put an earlier version back into an environment (instant rollback).",
    ),
    "promote": (
        "mixpeek_cli.commands.promote",
        "promote",
        "Serve staging's version in production too, then follow it like a deploy.",
    ),
    "logs": (
        "mixpeek_cli.commands.logs",
        "logs",
        "Print the running app's logs on stdout, oldest first, one entry per line.",
    ),
    "apps": (
        "mixpeek_cli.commands.apps",
        "apps_app",
        "The apps your key can see: list, create, show, rename, delete.",
    ),
    "env": (
        "mixpeek_cli.commands.env_vars",
        "env_app",
        "The app's env vars, public in every page: list, set, rm, pull, push.",
    ),
    "secrets": (
        "mixpeek_cli.commands.app_secrets",
        "secrets_app",
        "The app's server secrets, for its server functions only: list, set, rm.",
    ),
    "open": (
        "mixpeek_cli.commands.apps",
        "open_app",
        "Open the app's URL in the browser (production, or -e staging); print it when there "
        "is no display, with --print, or with --json.",
    ),
    "init": (
        "mixpeek_cli.commands.project",
        "init",
        "Create mixpeek.toml for PATH: the app id, environment, build command and output dir.",
    ),
    "link": (
        "mixpeek_cli.commands.project",
        "link",
        "Point PATH at APP_ID: set app_id in its mixpeek.toml, keeping everything else.",
    ),
    "login": (
        "mixpeek_cli.commands.auth",
        "login",
        "Store an API key in your user config dir (file mode 0600), used when no other is set.",
    ),
    "logout": ("mixpeek_cli.commands.auth", "logout", "Remove the key `mixpeek login` stored."),
    "whoami": (
        "mixpeek_cli.commands.auth",
        "whoami",
        "Show the settings a deploy from PATH would use, where each comes from, and whether "
        "the API takes the key for the app (GET /v1/apps/{app_id}): its slug and URLs.",
    ),
    "hooks": ("mixpeek_cli.commands.hooks", "hooks_app", "Deploy from a git pre-push hook."),
    "domains": (
        "mixpeek_cli.commands.domains",
        "domains_app",
        "The app's custom domains: list, add (prints the DNS records), verify, remove.",
    ),
    "git": (
        "mixpeek_cli.commands.git_repo",
        "git_app",
        "The GitHub repository the app deploys from: connect, disconnect, status.",
    ),
    "team": (
        "mixpeek_cli.commands.team",
        "team_app",
        "Who works on the app: members, invitations, roles.",
    ),
    "stats": (
        "mixpeek_cli.commands.stats",
        "stats",
        "The app's health: pageviews, events, errors over time, Web Vitals, recent errors.",
    ),
}


def build_command(name: str) -> Any:
    """The click command typer makes for ``name``."""
    from typer.main import get_command

    module, attribute, summary = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    # Registered under a parent shaped like the root, so the command is built exactly as
    # it would be there (plain help, no completion options of its own).
    parent = typer.Typer(add_completion=False, rich_markup_mode=None)
    parent.callback()(_root)
    if isinstance(target, typer.Typer):
        parent.add_typer(target, name=name, help=summary)
    else:
        # The summary lives here only; the command's docstring says the rest.
        details = inspect.cleandoc(target.__doc__ or "")
        parent.command(name, help=f"{summary}\n\n{details}" if details else summary)(target)
    return get_command(parent).commands[name]  # type: ignore[attr-defined]


class LazyGroup(TyperGroup):
    """A root group that imports and builds a command only when it is asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._built: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self._built:
            self._built[cmd_name] = build_command(cmd_name)
        return self._built[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The listing from :data:`COMMANDS`, so ``--help`` builds no command."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, short_help(help_text, limit)) for name, (_, _, help_text) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # The root sees every argument of the run, the sub-command's too; its context's
        # meta is shared with the sub-commands' contexts.
        before_dashes = args[: args.index("--")] if "--" in args else args
        ctx.meta[_JSON_KEY] = "--json" in before_dashes
        if "--watch" in before_dashes:
            args = with_watch_default(args)
        with _usage_errors_as_json(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        # The sub-command parses its own arguments in here: its usage errors pass through.
        with _usage_errors_as_json(ctx):
            return super().invoke(ctx)


_JSON_KEY = "mixpeek_cli.json"


@contextlib.contextmanager
def _usage_errors_as_json(ctx: Any) -> Iterator[None]:
    """With --json, a usage error also prints the JSON document every failure prints.

    Typer still shows the usage and the message on stderr and exits 2; this adds the
    document on stdout that scripts parse, the shape of ``output.runner``'s failures
    (docs/scripting.md).
    """
    try:
        yield
    except _USAGE_ERROR as exc:
        if ctx.meta.get(_JSON_KEY):
            message = " ".join(exc.format_message().split())
            # Nothing was sent before the arguments parsed: no deploy, none maybe made.
            payload = {
                "error": message,
                "exit_code": exc.exit_code,
                "deploy_id": None,
                "maybe_created": False,
            }
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        raise


def with_watch_default(args: list[str]) -> list[str]:
    """``args`` with the default DURATION after a bare ``--watch`` (one followed by another
    flag, by PATH or by nothing): click has no option whose value may be left out."""
    from mixpeek_cli.commands.watching import DEFAULT_WATCH, DURATION

    out: list[str] = []
    for index, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            return out + args[index + 1 :]
        after = args[index + 1] if index + 1 < len(args) else ""
        # A value that starts with a digit is a DURATION, right or wrong (a wrong one is
        # then told as such, not taken for PATH); write ./5m for a directory of that name.
        is_value = after[:1].isdigit() or bool(after and DURATION.fullmatch(after.lower()))
        if arg == "--watch" and not is_value:
            out.append(DEFAULT_WATCH)
    return out


def short_help(text: str, limit: int) -> str:
    """The first sentence of ``text``, cut at a word to ``limit`` characters with "...".

    What click shows for a command's help in a listing (its ``make_default_short_help``,
    which typer does not export), for the lines of :data:`COMMANDS`.
    """
    paragraph = text.split("\n\n", 1)[0]
    words = paragraph.split()
    shown: list[str] = []
    length = 0
    for word in words:
        length += len(word) + (1 if shown else 0)
        if length > limit:
            break
        shown.append(word)
        if word.endswith("."):
            return " ".join(shown)  # a sentence ends: no "..."
    else:
        return " ".join(shown)
    while shown and len(" ".join(shown)) + 3 > limit:
        shown.pop()
    return " ".join(shown) + "..."


app = typer.Typer(
    name="mixpeek",
    cls=LazyGroup,
    help="Deploy Mixpeek Canvas Apps.",
    no_args_is_help=True,
    add_completion=True,
    # Pretty tracebacks would print local variables, API keys among them.
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mixpeek-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Deploy Mixpeek Apps from a terminal, a script, a CI job or a git hook."""


def main() -> None:
    app()
