"""``GET /v1/apps/{app_id}/logs``: the running app's request log and runtime log.

Not build logs: what the deployed site saw. The request log is the app's site requests
(``state.site_requests``, the smoke tests' GETs included). The runtime log is what server
functions print (``site_functions``: one entry per ``console`` line or thrown stack) and
whatever a test adds (``state.add_runtime_log``). Both come newest
first, at most ``limit``, only from the last ``hours``; ``level`` filters runtime entries
only (request entries have no level).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from mixpeek_cli.emulator.models import (
    AppLogs,
    LogLevel,
    LogType,
    RequestLogEntry,
    RuntimeLogEntry,
)
from mixpeek_cli.emulator.records import RuntimeLog, utc_now
from mixpeek_cli.emulator.state import EmulatorState

# Sites are served on loopback only, so every client is this one.
CLIENT_IP = "127.0.0.1"


def log_timestamp(moment: datetime) -> str:
    """``"YYYY-MM-DD HH:MM:SS.mmm"`` in UTC, the published example's form."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond // 1000:03d}"


def app_logs(
    state: EmulatorState,
    app_id: str,
    log_type: LogType,
    hours: int,
    level: LogLevel | None,
    limit: int,
) -> AppLogs:
    since = utc_now() - timedelta(hours=hours)
    if log_type == "requests":
        requests = _requests(state, app_id, since)[:limit]
        return AppLogs(app_id=app_id, log_type=log_type, results=requests, entries=requests)
    runtime = [
        _runtime_entry(entry)
        for entry in _newest_first(state.runtime_logs(app_id))
        if entry.timestamp >= since and (level is None or entry.level == level)
    ][:limit]
    return AppLogs(app_id=app_id, log_type=log_type, results=runtime, entries=runtime)


def _requests(state: EmulatorState, app_id: str, since: datetime) -> list[RequestLogEntry]:
    found: list[tuple[datetime, int, dict[str, Any]]] = []
    for record in state.site_requests:
        if record.get("app_id") != app_id:
            continue
        arrived = _parse(record.get("timestamp"))
        if arrived is not None and arrived >= since:
            found.append((arrived, record["id"], record))
    # Arrival time first: records are made as requests are answered, not as they arrive.
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [
        RequestLogEntry(
            timestamp=log_timestamp(arrived),
            method=record["method"],
            path=record["path"],
            status_code=record["status"],
            duration_ms=record["duration_ms"],
            user_agent=record.get("user_agent"),
            ip=CLIENT_IP,
            environment=record["environment"],
        )
        for arrived, _, record in found
    ]


def _newest_first(entries: list[RuntimeLog]) -> list[RuntimeLog]:
    # Added order breaks ties: two entries in one millisecond keep their order.
    ordered = sorted(enumerate(entries), key=lambda item: (item[1].timestamp, item[0]))
    return [entry for _, entry in reversed(ordered)]


def _runtime_entry(entry: RuntimeLog) -> RuntimeLogEntry:
    return RuntimeLogEntry(
        timestamp=log_timestamp(entry.timestamp),
        level=entry.level,
        message=entry.message,
        route_path=entry.route_path,
        request_id=entry.request_id,
    )


def _parse(value: Any) -> datetime | None:
    """A recorded ISO 8601 timestamp, as an aware datetime (None when unreadable)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=timezone.utc)
