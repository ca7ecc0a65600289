"""The console entry point: answers ``mixpeek --version`` before loading typer.

Scripts and git hooks run ``mixpeek --version`` to check the tool is there; it needs
nothing but the version string, so it does not pay for typer and the command modules
(see docs/performance.md). Everything else goes to the typer app in :mod:`mixpeek_cli.cli`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from mixpeek_cli import __version__

        sys.stdout.write(f"mixpeek-cli {__version__}\n")
        return
    _skip_httpx_cli()
    from mixpeek_cli.cli import main as run

    try:
        run()
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    _exit_now(code)


def _exit_now(code: int) -> None:
    """End the process once its output is out, without the interpreter's teardown.

    Tearing down frees every module's objects one by one: ~30-40 ms of a small `bundle`
    (bench/run.py), after the last byte of output, that the user waits for and nothing
    needs. The streams are flushed and the atexit functions run first, as at a normal
    exit; the command's own clean-up (temporary files, threads, child processes) is
    done by then, in its context managers.
    """
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`| head`) or stream: nothing more can be said there.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)  # CPython's own hook
    if run_exit_functions is not None:
        run_exit_functions()
    os._exit(code)


def _skip_httpx_cli() -> None:
    """Keep ``import httpx`` from importing httpx's own command-line client.

    httpx's ``__init__`` imports its CLI (click, pygments, rich's syntax and table
    modules: ~40 ms here, a third of what a re-deploy spends) though only its ``httpx``
    command runs it (encode/httpx#3547). It falls back when that import fails, and a None
    in ``sys.modules`` is Python's way to make one fail. Nothing here runs httpx's CLI.
    """
    if "httpx._main" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]  # None: blocked
