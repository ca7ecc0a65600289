"""The secret scan's child interpreter (started by :mod:`.worker`): files in, findings out.

It reads ``[[path, source, size], ...]`` as JSON on stdin and writes
``{"findings": [...]}``, or ``{"error": {"message", "hint"}}`` for the one error it met,
on stdout. It imports only what the scan needs: its start-up is paid on every large bundle.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any, NamedTuple

from mixpeek_cli.bundle.secrets.scan import scan_files
from mixpeek_cli.errors import UsageError


class _Item(NamedTuple):
    path: str
    source: str
    size: int


def serve() -> None:
    # The parent owns Ctrl-C: it stops this process when it abandons the scan.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    items = [_Item(path, source, size) for path, source, size in json.load(sys.stdin)]
    try:
        answer: dict[str, Any] = {"findings": [f.to_list() for f in scan_files(items)]}
    except UsageError as exc:
        answer = {"error": {"message": exc.message, "hint": exc.hint}}
    json.dump(answer, sys.stdout)
