"""The stderr console: rich's on a terminal, a plain-lines twin everywhere else.

Importing rich costs ~25 ms (``rich.markup`` alone ~15 ms, as it loads ``rich.text``),
paid on every run in CI jobs, hooks and pipes, where nothing is styled anyway. There,
:class:`PlainConsole` writes the same text: our markup tags taken out, everything else
as given but for control characters, shown as escapes
(:func:`~mixpeek_cli.printable.printable`): a pipe or a CI log is often read on a
terminal later. :func:`escape` is rich's rule for text put inside markup, so messages
read the same from both consoles.
"""

from __future__ import annotations

import re
import sys
from typing import IO, Any, Protocol

from mixpeek_cli.printable import printable

# rich.markup.escape's pattern: a "[" that could open a tag.
_OPENS_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_TAG = re.compile(r"(\\*)\[[a-z#/@][^[]*?]")  # rich.markup.RE_TAGS


class Console(Protocol):
    """What the commands and the runner use of a console."""

    @property
    def is_terminal(self) -> bool: ...

    @property
    def is_dumb_terminal(self) -> bool: ...

    def print(self, *objects: Any, **options: Any) -> None: ...


def escape(text: str) -> str:
    """``text`` made safe to put inside markup (the same result as rich.markup.escape)."""

    def double(match: re.Match[str]) -> str:
        backslashes, tag = match.groups()
        return f"{backslashes}{backslashes}\\{tag}"

    text = _OPENS_TAG.sub(double, text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text + "\\"
    return text


def strip_markup(markup: str) -> str:
    """The text rich shows for ``markup``: its parse, with the tags dropped."""
    if "[" not in markup:
        return markup
    out: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        start, end = match.span()
        if start > position:
            out.append(markup[position:start].replace("\\[", "["))
        backslashes, escaped = divmod(len(match.group(1)), 2)
        out.append("\\" * backslashes)
        if escaped:  # an escaped tag is its text
            out.append(match.group(0)[len(match.group(1)) :])
        position = end
    out.append(markup[position:].replace("\\[", "["))
    return "".join(out)


class PlainConsole:
    """Whole lines on a stream, no colour or control codes: for CI, hooks and pipes."""

    is_terminal = False
    is_dumb_terminal = False

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def print(self, *objects: Any, **options: Any) -> None:
        text = " ".join(str(o) for o in objects)
        if options.get("markup", True) is not False:
            text = strip_markup(text)
        stream = self._stream or sys.stderr
        # Lines given as such stay lines; anything else that moves the cursor is shown.
        stream.write(printable(text, keep_newlines=True) + options.get("end", "\n"))
        stream.flush()
