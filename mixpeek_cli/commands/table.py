"""Rows for people: a rich table when stdout is a terminal, else tab-separated lines.

Every cell may quote the service: shown through :func:`~mixpeek_cli.printable.printable`,
as one line without tabs, and in the table as plain text, never as markup.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mixpeek_cli.printable import printable


def cell(value: object) -> str:
    """A value as one cell: one line, no tab; "-" when there is none."""
    if value is None or value == "":
        return "-"
    return printable(" ".join(str(value).split()))


def show_rows(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str | None:
    """The rows as the command's result: a table printed on a terminal (None returned),
    else the lines to print, one row per line, cells separated by tabs."""
    if not sys.stdout.isatty():
        return "\n".join("\t".join(cell(value) for value in row) for row in rows)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header)
    for row in rows:
        # Text, not a str: a str cell is read as markup ("[link=...]" makes a link).
        table.add_row(*(Text(cell(value)) for value in row))
    Console(highlight=False).print(table)
    return None
