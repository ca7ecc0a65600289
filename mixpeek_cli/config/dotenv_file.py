"""Dotenv files for `mixpeek env pull` and `env push`.

Read with python-dotenv's parser (the format as the tools that load such files read it:
``export``, quotes, escapes, comments, multi-line quoted values), never interpolating
``${VAR}``: what the file says is what is sent. A line it cannot read, or a name without
``=``, is an error naming the line, not a line skipped. Written one ``KEY="value"`` a
line, escaped so that reading it back gives the same values.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

from mixpeek_cli.errors import UsageError


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    line: int


def parse_dotenv(text: str, where: str) -> list[Entry]:
    """The ``KEY=value`` entries of a dotenv file's text, in order (a later one of the
    same key wins when they are applied); ``where`` names the file in errors."""
    from dotenv.parser import parse_stream

    entries: list[Entry] = []
    for binding in parse_stream(io.StringIO(text)):
        raw = binding.original.string
        # A binding's text starts with the blank lines before it: count to its first word.
        line = binding.original.line + raw[: len(raw) - len(raw.lstrip())].count("\n")
        if binding.error:
            first = raw.strip().splitlines()[:1]
            raise UsageError(
                f"{where}:{line}: not a KEY=VALUE line: {first[0][:60] if first else ''!r}",
                hint="fix the line, or make it a comment with #",
            )
        if binding.key is None:
            continue  # a comment or a blank line
        if binding.value is None:
            raise UsageError(
                f"{where}:{line}: {binding.key} has no value", hint=f"write {binding.key}=VALUE"
            )
        entries.append(Entry(binding.key, binding.value, line))
    return entries


def format_dotenv(values: Mapping[str, str], header: str = "") -> str:
    """``values`` as dotenv text that :func:`parse_dotenv` reads back unchanged."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f'{key}="{_escaped(value)}"' for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _escaped(value: str) -> str:
    # The escapes python-dotenv decodes in a double-quoted value (\\ \" \n \r \t): with
    # these, newlines and quotes survive the round trip, and the line stays one line.
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
