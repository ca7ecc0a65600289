"""Server-Sent Events read from a byte stream, with every line capped in memory.

The build log is an SSE stream from a server the CLI does not control. httpx-sse (and
every SSE client seen) buffers a line until its end comes: a 512 MiB "line" with no
newline grew the CLI to 2.1 GB. Here a line keeps its first :data:`MAX_LINE_BYTES` and
counts the rest, so memory stays flat whatever arrives. The parsing follows the WHATWG
rules the log stream needs: lines end in CRLF, LF or CR; ``event`` and ``data`` fields;
a blank line dispatches; comments and other fields are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A log event's data line is a small JSON object; this leaves room for very long log
# lines, which are cut again for display (models.MAX_LOG_LINE).
MAX_LINE_BYTES = 1 << 20
# At most this many data lines are kept per event; the rest are counted as cut.
MAX_DATA_LINES = 16
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    cut_bytes: int = 0  # bytes of the event's data that were over the caps, not kept


def iter_events(
    chunks: Iterable[bytes], *, max_line: int = MAX_LINE_BYTES
) -> Iterator[ServerSentEvent]:
    """The events of the stream whose bytes are ``chunks``."""
    event, data, cut = "", list[str](), 0
    for line, line_cut in _iter_lines(chunks, max_line):
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data), cut)
            event, data, cut = "", [], 0
            continue
        if line.startswith(":"):
            continue  # a comment: heartbeats
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            if len(data) < MAX_DATA_LINES:
                data.append(value)
                cut += line_cut
            else:
                cut += len(value.encode("utf-8", "replace")) + line_cut


def _iter_lines(chunks: Iterable[bytes], max_line: int) -> Iterator[tuple[str, int]]:
    """Each line, decoded (bad UTF-8 replaced), and how many of its bytes were cut."""
    kept = bytearray()
    cut = 0
    skip_lf = False  # the last chunk ended in CR: a LF first in the next one belongs to it
    for chunk in chunks:
        start = 0
        if skip_lf and chunk[:1] == b"\n":
            start = 1
        skip_lf = False
        while True:
            match = _LINE_END.search(chunk, start)
            end = match.start() if match else len(chunk)
            room = max_line - len(kept)
            piece = end - start
            kept += chunk[start : start + min(piece, room)]
            cut += max(0, piece - room)
            if match is None:
                break
            yield kept.decode("utf-8", "replace"), cut
            kept.clear()
            cut = 0
            start = match.end()
            if match.group() == b"\r" and start == len(chunk):
                skip_lf = True
    # A stream that ends without a line end: what was sent of that line is no event.
