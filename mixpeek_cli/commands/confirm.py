"""Asking before a destructive change: on a terminal a yes/no question, in a script
``--yes``; without a terminal and without ``--yes``, exit 2 and nothing is sent."""

from __future__ import annotations

from typing import Annotated

import typer

Yes = Annotated[bool, typer.Option("-y", "--yes", help="Go ahead without asking first.")]


def refuse_without_terminal(yes: bool, what: str) -> None:
    """Exit 2 before any call when there is no one to ask and no ``--yes``: a script that
    forgot it learns so at once. ``what`` says what the command does ("domains rm takes
    DOMAIN off app X")."""
    from mixpeek_cli.errors import UsageError
    from mixpeek_cli.output.runner import can_prompt

    if not yes and not can_prompt():
        raise UsageError(
            f"{what} and asks first; there is no terminal to ask on",
            hint="pass --yes to go ahead without asking",
        )


def confirmed(yes: bool, question: str) -> bool:
    """``--yes``, or the answer to ``question`` (asked on stderr; the default is no)."""
    return yes or typer.confirm(question, err=True, default=False)
