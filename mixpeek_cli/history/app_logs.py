"""The running app's logs (``GET /v1/apps/{id}/logs``): read once, or followed by polling.

The endpoint answers a window (the last N hours, at most ``limit`` entries, newest first)
and has no cursor, so following polls it gently and shows only entries it has not shown.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

LOG_TYPES = ("runtime", "requests")
LEVELS = ("log", "info", "warn", "error")
MAX_HOURS = 168  # the endpoint keeps a week in reach (30 days of retention)
FOLLOW_FIRST = 2.0
FOLLOW_MAX = 10.0
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd]?)\s*$")


def since_hours(text: str) -> int:
    """``--since`` ("30m", "2h", "7d", "3") as the whole hours the endpoint takes (1..168)."""
    match = _SINCE.match(text)
    if match is None:
        raise UsageError(f"invalid --since {text!r}", hint="give a duration such as 30m, 2h or 7d")
    amount, unit = float(match.group(1)), match.group(2) or "h"
    hours = math.ceil(amount * {"m": 1 / 60, "h": 1, "d": 24}[unit])
    if not 1 <= hours <= MAX_HOURS:
        raise UsageError(
            f"--since {text} is outside what the logs keep in reach",
            hint=f"give at most {MAX_HOURS} hours (7d)",
        )
    return hours


def oldest_first(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries in time order. The endpoint answers newest first, so entries that share a
    timestamp (milliseconds) are reversed before a stable sort keeps them in order."""
    return sorted(reversed(list(entries)), key=lambda e: str(e.get("timestamp", "")))


def entry_key(entry: dict[str, Any]) -> str:
    """What tells two entries apart: all of their fields."""
    return json.dumps(entry, sort_keys=True, default=str)


def follow(
    api: ApiClient,
    app_id: str,
    *,
    log_type: str,
    hours: int,
    limit: int,
    level: str | None,
    show: Callable[[list[dict[str, Any]]], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Show the window, then new entries as they come, until Ctrl-C (KeyboardInterrupt)."""
    seen: set[str] = set()
    interval = FOLLOW_FIRST
    while True:
        entries = api.app_logs(app_id, log_type=log_type, hours=hours, limit=limit, level=level)
        fresh = [e for e in oldest_first(entries) if entry_key(e) not in seen]
        # What has left the window (too old, or pushed out by newer ones) cannot come
        # back: remembering this window is enough, and memory stays bounded.
        seen = {entry_key(e) for e in entries}
        if fresh:
            show(fresh)
            interval = FOLLOW_FIRST
        else:  # quiet: ask less often, never more than every 10 s
            interval = min(interval * 1.5, FOLLOW_MAX)
        sleep(interval)
