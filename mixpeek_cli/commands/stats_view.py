"""How `mixpeek stats` shows its numbers: Web Vitals rated against their thresholds, a
dashboard (rich) on a terminal, one fact per line elsewhere.

Every text from the service (metric names, error types and messages, URLs) goes through
:func:`~mixpeek_cli.printable.printable` and into rich as plain ``Text``, never as markup.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from mixpeek_cli.printable import printable

# (good up to, poor above) per metric, the usual Web Vitals thresholds; times in
# milliseconds as the web-vitals library reports them [assumed: docs/api.md], CLS unitless.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "LCP": (2500, 4000),
    "INP": (200, 500),
    "CLS": (0.1, 0.25),
    "FCP": (1800, 3000),
    "TTFB": (800, 1800),
    "FID": (100, 300),
}
GOOD, NEEDS_IMPROVEMENT, POOR = "good", "needs-improvement", "poor"
_COLOUR = {GOOD: "green", NEEDS_IMPROVEMENT: "yellow", POOR: "red"}
# The chart: at most this many columns, this many rows of eighth blocks.
CHART_WIDTH = 48
CHART_HEIGHT = 4
_BLOCKS = " ▁▂▃▄▅▆▇█"


def rating(metric: str, value: float | None) -> str | None:
    """``good``, ``needs-improvement`` or ``poor``; None for an unknown metric or value."""
    limits = THRESHOLDS.get(metric.upper())
    if limits is None or value is None:
        return None
    good, poor = limits
    if value <= good:
        return GOOD
    return NEEDS_IMPROVEMENT if value <= poor else POOR


def shown_value(metric: str, value: float | None) -> str:
    """A percentile as people read it: ``2.10 s``, ``180 ms``, ``0.05`` (CLS)."""
    if value is None:
        return "-"
    if metric.upper() == "CLS":
        return f"{value:.2f}"
    if metric.upper() in THRESHOLDS:
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    return f"{value:g}"


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=timezone.utc)


def error_columns(
    buckets: list[dict[str, Any]], hours: int, now: datetime, width: int = CHART_WIDTH
) -> tuple[list[int], int]:
    """The errors per column of the chart, oldest first, and the hours each column spans.

    The window's hours are grouped so at most ``width`` columns remain; a bucket whose
    time cannot be read, or lies outside the window, is left out of the chart (the total
    still counts it)."""
    span = max(1, math.ceil(hours / width))
    columns = [0] * math.ceil(hours / span)
    start = now - timedelta(hours=hours)
    for bucket in buckets:
        moment = _when(bucket["timestamp"])
        if moment is None or moment < start - timedelta(hours=span) or moment > now:
            continue
        index = int((moment - start).total_seconds() // (span * 3600))
        columns[min(max(index, 0), len(columns) - 1)] += bucket["count"]
    return columns, span


def chart_rows(columns: list[int], height: int = CHART_HEIGHT) -> list[str]:
    """The columns as ``height`` rows of block characters, top row first."""
    top = max(columns, default=0)
    if top <= 0:
        return [" " * len(columns)] * (height - 1) + ["▁" * len(columns)]
    eighths = [round(count * height * 8 / top) for count in columns]
    rows = []
    for row in range(height - 1, -1, -1):
        line = "".join(_BLOCKS[min(8, max(0, units - row * 8))] for units in eighths)
        rows.append(line)
    return rows


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}/min"


def plain_lines(data: dict[str, Any]) -> list[str]:
    """One fact per line, tab-separated, for pipes and logs."""
    rate = data["error_rate"]
    lines = [
        f"hours\t{data['hours']}",
        f"pageviews\t{data['pageviews']}",
        f"events\t{data['events']}",
        f"errors\t{data['errors']}",
        f"errors_per_minute\t{_rate(data['error_rate_per_minute'])}",
        f"error_rate\t{rate['minutes']} min\t{rate['errors']} errors\t{_rate(rate['per_minute'])}",
    ]
    lines += [
        f"errors_at\t{printable(b['timestamp'])}\t{b['count']}" for b in data["errors_over_time"]
    ]
    for vital in data["vitals"]:
        metric = vital["metric"]
        values = "\t".join(
            f"{name} {shown_value(metric, vital[name])} ({vital['rating'][name] or '-'})"
            for name in ("p50", "p75", "p95")
        )
        lines.append(f"vital\t{printable(metric)}\t{values}\tsamples {vital['samples']}")
    for error in data["recent_errors"]:
        cells = (error["timestamp"], error["error_type"], error["error_message"], error["url"])
        lines.append("recent_error\t" + "\t".join(_one_line(cell) for cell in cells))
    return lines


def _one_line(value: str | None) -> str:
    return printable(" ".join(value.split())) if value else "-"


def print_dashboard(data: dict[str, Any], now: datetime | None = None) -> None:
    """The dashboard, printed on stdout with rich."""
    from rich.console import Console, Group
    from rich.table import Table
    from rich.text import Text

    out = Console(highlight=False)
    hours = data["hours"]
    summary = Text(f"last {hours} h: ", style="bold")
    summary.append(
        f"{_count(data['pageviews'], 'pageview')} · {_count(data['events'], 'event')} · "
    )
    summary.append(_count(data["errors"], "error"), style="red" if data["errors"] else "green")
    summary.append(f" ({_rate(data['error_rate_per_minute'])})")
    rate = data["error_rate"]
    current = Text(f"last {rate['minutes']} min: ", style="bold")
    current.append(
        f"{_count(rate['errors'], 'error')} ({_rate(rate['per_minute'])})",
        style="red" if rate["errors"] else "green",
    )
    parts: list[Any] = [summary, current, Text("")]

    columns, span = error_columns(
        data["errors_over_time"], hours, now or datetime.now(timezone.utc)
    )
    top = max(columns, default=0)
    parts.append(Text(f"errors over time (each column {span} h)", style="bold"))
    label = len(str(top))
    for i, row in enumerate(chart_rows(columns)):
        mark = str(top) if i == 0 else ("0" if i == CHART_HEIGHT - 1 else "")
        line = Text()
        line.append(f"{mark:>{label}} │", style="dim")
        line.append(row, style="red")
        parts.append(line)
    axis = f"-{hours} h"
    parts.append(Text(f"{'':>{label}} └{axis}{'now':>{max(3, len(columns) - len(axis))}}", "dim"))

    if data["vitals"]:
        table = Table(title="Web Vitals", title_justify="left", box=None, header_style="bold")
        for header in ("METRIC", "P50", "P75", "P95", "SAMPLES", "P75 RATING"):
            table.add_column(header)
        for vital in data["vitals"]:
            metric = vital["metric"]
            cells = [Text(printable(metric))]
            for name in ("p50", "p75", "p95"):
                style = _COLOUR.get(vital["rating"][name] or "", "")
                cells.append(Text(shown_value(metric, vital[name]), style=style))
            verdict = vital["rating"]["p75"]
            cells += [
                Text(str(vital["samples"])),
                Text(verdict or "-", _COLOUR.get(verdict or "", "")),
            ]
            table.add_row(*cells)
        parts += [Text(""), table]

    if data["recent_errors"]:
        table = Table(title="Recent errors", title_justify="left", box=None, header_style="bold")
        for header in ("TIME", "TYPE", "MESSAGE", "URL"):
            table.add_column(header, overflow="fold")
        for error in data["recent_errors"][:10]:
            fields = (error["timestamp"], error["error_type"], error["error_message"], error["url"])
            table.add_row(*(Text(_one_line(value)) for value in fields))
        parts += [Text(""), table]
    out.print(Group(*parts))
