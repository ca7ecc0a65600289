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
    from mixpeek_cli.cli import main as run

    run()
