"""The command layer: what every command shares, written once.

A command is a plain function of its own options, with a :class:`Run` first, that
returns its result. :func:`command` makes it what typer registers: it adds the shared
flags (``--api-key`` ... ``--json -q -v``, as the command asks) to the signature typer
reads, builds the run's output with the key masked, runs the function through
:func:`~mixpeek_cli.output.runner.run_command` (the one place failures become a line and
an exit code) and prints what it returned: one JSON document with ``--json``, else what
the command's renderer makes of it. Settings and the API client are made on first use.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mixpeek_cli.commands import options, watching
from mixpeek_cli.commands.keys import key_redactor
from mixpeek_cli.output.runner import Output, run_command
from mixpeek_cli.printable import printable, printable_json

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.deploy.watch import WatchPlan
    from mixpeek_cli.output.console import Console
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient

# The shared flags, in the order --help lists them (after the command's own), with their
# defaults. A command takes the output ones always and the settings ones it asks for.
_SHARED: tuple[tuple[str, Any, Any], ...] = (
    ("watch", watching.Watch, None),
    ("watch_interval", watching.WatchInterval, None),
    ("max_error_rate", watching.MaxErrorRate, None),
    ("rollback_on_failure", watching.RollbackOnFailure, False),
    ("app", options.AppId, None),
    ("environment", options.Environment, None),
    ("api_key", options.ApiKey, None),
    ("base_url", options.BaseUrl, None),
    ("namespace", options.Namespace, None),
    ("poll_interval", options.PollInterval, None),
    ("timeout", options.Timeout, None),
    ("json_output", options.Json, False),
    ("quiet", options.Quiet, False),
    ("verbose", options.Verbose, False),
)
_REMOTE = ("api_key", "base_url", "namespace", "timeout")
_WATCH = ("watch", "watch_interval", "max_error_rate", "rollback_on_failure")


@dataclass(frozen=True)
class Flags:
    """The shared flags' values; those a command does not take stay unset."""

    watch: str | None = None
    watch_interval: float | None = None
    max_error_rate: float | None = None
    rollback_on_failure: bool = False
    app: str | None = None
    environment: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    namespace: str | None = None
    poll_interval: float | None = None
    timeout: float | None = None
    json_output: bool = False
    quiet: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class Result:
    """A command's result and how the run ends.

    ``data`` is the ``--json`` document and what the renderer shows people; ``why`` are
    the lines that explain a non-zero ``exit_code``, on stderr after the result.
    """

    data: Any
    exit_code: int = 0
    why: tuple[str, ...] = ()


Renderer = Callable[["Run", Any], "str | None"]


class Run:
    """One run of a command: where it writes, and its settings and client once asked for."""

    def __init__(
        self, output: Output, console: Console, reporter: Reporter, flags: Flags, *, remote: bool
    ) -> None:
        self.output = output
        self.console = console
        self.reporter = reporter
        self.flags = flags
        self._remote = remote
        self._settings: Settings | None = None

    def resolve(
        self,
        root: Path = Path("."),
        *,
        build_command: str | None = None,
        output_dir: str | None = None,
    ) -> Settings:
        """Flags > env > ``root``'s mixpeek.toml > the stored key > defaults; the run's
        deadline (``--timeout``) starts here. The build's flags are deploy's and bundle's."""
        from mixpeek_cli.config.settings import resolve_settings

        stored_key = None
        if self._remote:  # a command that calls no API reads no credentials file
            from mixpeek_cli.config.credentials import stored_key_reader

            stored_key = stored_key_reader(self.reporter.warn)
        flags = self.flags
        self._settings = resolve_settings(
            root=root,
            env=os.environ,
            api_key=flags.api_key,
            base_url=flags.base_url,
            app_id=flags.app,
            environment=flags.environment,
            poll_interval=flags.poll_interval,
            timeout=flags.timeout,
            namespace=flags.namespace,
            stored_key=stored_key,
            build_command=build_command,
            output_dir=output_dir,
        )
        return self._settings

    @property
    def settings(self) -> Settings:
        """The settings for the current directory, unless :meth:`resolve` chose a root."""
        return self._settings or self.resolve()

    def watch_plan(self, *, follows: bool) -> WatchPlan | None:
        """What the watch flags ask for (None: no --watch); exit 2 for flags that cannot
        be met. ``follows``: the command follows the new version until it is final."""
        flags = self.flags
        return watching.watch_plan(
            flags.watch,
            flags.watch_interval,
            flags.max_error_rate,
            flags.rollback_on_failure,
            follows=follows,
        )

    @functools.cached_property
    def trace(self) -> Callable[[str], None] | None:
        """Where ``--verbose`` HTTP lines go (None without it)."""
        return self.output.tracer(self.console)

    def client(self, *, app: bool = True) -> tuple[str, ApiClient]:
        """The app id and a client for it, bound by the run's deadline; each retry is told
        on stderr unless --quiet. ``app=False``: no app id is needed ("" then)."""
        from mixpeek_cli.service.client import client_for

        app_id, _ = self.settings.require_remote(app=app)
        # The reporter tells retries as a deploy's stages do (and not at all with --quiet).
        return app_id, client_for(self.settings, self.trace, self.reporter.warn, app=app)

    @contextlib.contextmanager
    def api(self, *, app: bool = True) -> Iterator[tuple[str, ApiClient]]:
        """:meth:`client`, open for the ``with`` block: ``with run.api() as (app_id, api)``."""
        app_id, client = self.client(app=app)
        with client as api:
            yield app_id, api

    def rows(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str
    ) -> str | None:
        """A renderer's table (:func:`~mixpeek_cli.commands.table.show_rows`); with no
        rows, nothing on stdout and ``empty`` on stderr (say what to do next)."""
        from mixpeek_cli.commands.table import show_rows

        if not rows:
            self.reporter.info(empty)
            return None
        return show_rows(headers, rows)

    def say(self, line: str) -> None:
        """One line for people on stderr, shown as text (it may quote a server)."""
        self.console.print(printable(line), markup=False, highlight=False, soft_wrap=True)

    def finish(self, returned: Any, render: Renderer | None) -> int:
        """Print what the command returned and give its exit code; an int is the exit
        code of a command that printed its result itself."""
        if isinstance(returned, int):
            return returned
        result = returned if isinstance(returned, Result) else Result(returned)
        if self.output.json:
            self.output.result(printable_json(result.data))
        elif render is not None:
            text = render(self, result.data)
            if text is not None:
                self.output.result(text)
        for line in result.why:
            self.say(line)
        return result.exit_code


def command(
    *,
    remote: bool = False,
    app: bool = False,
    environment: bool = False,
    poll_interval: bool = False,
    watch: bool = False,
    render: Renderer | None = None,
    plain: bool = False,
    json_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """Make ``fn(run, **own_options)`` a typer command with the shared flags it asks for.

    ``remote``: it calls the API (``--api-key --base-url --namespace --timeout``);
    ``app``, ``environment``, ``poll_interval``: those settings flags too (remote).
    ``watch``: the safety net's flags (``--watch`` ..., :meth:`Run.watch_plan`).
    ``render(run, data)``: the text for people on stdout (None: nothing), when not
    ``--json``. ``plain``: whole lines, no colour (git hooks). ``json_only``: ``--json``
    without ``-q``/``-v``.
    """
    remote = remote or app or environment or poll_interval
    wanted = {"app": app, "environment": environment, "poll_interval": poll_interval}
    wanted.update(dict.fromkeys(_REMOTE, remote))
    wanted.update(dict.fromkeys(_WATCH, watch))
    wanted.update(quiet=not json_only, verbose=not json_only)
    names = [name for name, _, _ in _SHARED if wanted.get(name, True)]

    def decorate(fn: Callable[..., Any]) -> Callable[..., None]:
        own = _own_parameters(fn)
        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, a, d in _SHARED
            if name in names
        ]
        clash = {p.name for p in own} & set(names)
        if clash:
            raise TypeError(f"{fn.__name__} declares shared flags itself: {sorted(clash)}")

        @functools.wraps(fn)
        def entry(**values: Any) -> None:
            flags = Flags(**{name: values.pop(name) for name in names})
            output = Output(
                json=flags.json_output,
                quiet=flags.quiet,
                verbose=flags.verbose,
                plain=plain,
                redact=key_redactor(flags.api_key),
            )

            def body(console: Console, reporter: Reporter) -> int:
                run = Run(output, console, reporter, flags, remote=remote)
                return run.finish(fn(run, **values), render)

            raise typer.Exit(run_command(output, body))

        # typer reads the options from the signature: the command's own, then the shared.
        entry.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        entry.__annotations__ = {p.name: p.annotation for p in (*own, *shared)}
        return entry

    return decorate


def _own_parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    """``fn``'s options (all but the Run), their annotations as objects: typer reads them
    from the wrapper, whose module cannot resolve the command module's names."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    # Only the options' annotations: the Run's and the return's may name types imported
    # for the type checker only.
    probe = types.FunctionType(fn.__code__, fn.__globals__)
    probe.__annotations__ = {p.name: fn.__annotations__[p.name] for p in params}
    hints = typing.get_type_hints(probe, include_extras=True)
    return [p.replace(annotation=hints[p.name]) for p in params]
