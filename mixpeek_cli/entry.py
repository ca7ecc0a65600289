"""The console entry point: answers ``mixpeek --version`` before loading typer.

Scripts and git hooks run ``mixpeek --version`` to check the tool is there; it needs
nothing but the version string, so it does not pay for typer and the command modules
(see docs/performance.md). Everything else goes to the typer app in :mod:`mixpeek_cli.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from mixpeek_cli import __version__

        sys.stdout.write(f"mixpeek-cli {__version__}\n")
        return
    _skip_httpx_cli()
    from mixpeek_cli.cli import main as run

    run()


def _skip_httpx_cli() -> None:
    """Keep ``import httpx`` from importing httpx's own command-line client.

    httpx's ``__init__`` imports its CLI (click, pygments, rich's syntax and table
    modules: ~40 ms here, a third of what a re-deploy spends) though only its ``httpx``
    command runs it (encode/httpx#3547). It falls back when that import fails, and a None
    in ``sys.modules`` is Python's way to make one fail. Nothing here runs httpx's CLI.
    """
    if "httpx._main" not in sys.modules:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]  # None: blocked
