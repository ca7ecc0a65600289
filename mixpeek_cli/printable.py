"""Text from outside (the service, a build, the file system) made safe to show on a terminal.

A build log line, an error message, an app title or a file name can hold terminal
control sequences: OSC 52 writes the user's clipboard, OSC 8 makes a link, ``ESC [2J``
clears the screen, a bare CR or backspaces overwrite what was shown, U+202E turns text
around. Printed raw, whoever wrote that text drives the user's terminal. :func:`printable`
shows each such character as an escape instead (``\\x1b``, ``\\r``, ``\\u202e``): nothing
is obeyed and nothing is lost. Colour sequences (SGR, ``ESC [ ... m``) are dropped rather
than shown, as build tools forced to colour write one around every word, and styling is
all they do.

:func:`printable_json` is the same for ``--json``: the data is kept, only written so
that no such character appears raw in the document.

This module imports nothing of the CLI, so every room can use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls but the tab, DEL and C1 (``\x9b`` is an 8-bit CSI to some terminals); the
# bidirectional overrides, embeddings, isolates and marks; the line and paragraph
# separators; lone surrogates (from a JSON "\ud800"), which no stream can encode.
_C0 = "\x00-\x08\x0a-\x1f"  # the tab (\x09) is kept
_C0_BUT_NEWLINE = "\x00-\x08\x0b-\x1f"
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_UNSAFE = re.compile(f"[{_C0}{_OTHERS}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[{_C0_BUT_NEWLINE}{_OTHERS}]")
# Inside a JSON document C0 is escaped by json itself; the others are not.
_UNSAFE_IN_JSON = re.compile(f"[{_OTHERS}]")
_COLOUR = re.compile(r"\x1b\[[0-9;:]*m")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (colour codes dropped).

    One line stays one line: a newline in it shows as ``\\n``, unless ``keep_newlines``
    (for text that is meant to span lines). Tabs are kept. Text without any such
    character is returned as it is, at the cost of one regex scan.
    """
    unsafe = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    if unsafe.search(text) is None:
        return text
    return unsafe.sub(_visible, _COLOUR.sub("", text))


def printable_json(data: Any) -> str:
    """``data`` as one JSON document (UTF-8 text kept readable) with no control, bidi
    or lone-surrogate character raw in it: those are written as ``\\uXXXX`` escapes,
    which read back as the same data."""
    text = json.dumps(data, ensure_ascii=False)
    # Every such character is inside a string (JSON's own syntax is ASCII), where an
    # escape means the same character.
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
