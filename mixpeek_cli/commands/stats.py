"""`mixpeek stats`: is the app healthy? Pageviews, events and errors of the last hours,
errors over time, Web Vitals against their thresholds, the recent errors, and the error
rate of the last minutes (``GET .../analytics`` and ``GET .../error-rate``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mixpeek_cli.commands.layer import Run, command


def _shown(run: Run, data: dict[str, Any]) -> str | None:
    import sys

    from mixpeek_cli.commands import stats_view

    if not sys.stdout.isatty():
        return "\n".join(stats_view.plain_lines(data))
    stats_view.print_dashboard(data)
    return None


@command(app=True, render=_shown)
def stats(
    run: Run,
    hours: Annotated[
        int, typer.Option("--hours", min=1, max=720, help="How many hours back to look.")
    ] = 24,
    minutes: Annotated[
        int,
        typer.Option("--minutes", min=1, max=1440, help="The window of the current error rate."),
    ] = 5,
) -> dict[str, Any]:
    """Web Vitals are coloured against the usual thresholds (good, needs improvement,
    poor: LCP 2.5 s / 4 s, INP 200 / 500 ms, CLS 0.1 / 0.25, FCP 1.8 / 3 s, TTFB 0.8 /
    1.8 s). A terminal gets a dashboard; a pipe gets one fact per line; --json the numbers.
    """
    from mixpeek_cli.commands.stats_view import rating
    from mixpeek_cli.service import analytics

    with run.api() as (app_id, api):
        seen = analytics.analytics(api, app_id, hours)
        rate = analytics.error_rate(api, app_id, minutes)
    return {
        "app_id": app_id,
        "hours": seen.hours,
        "pageviews": seen.pageviews,
        "events": seen.events,
        "errors": seen.errors,
        "error_rate_per_minute": seen.error_rate_per_minute,
        "errors_over_time": [{"timestamp": t, "count": n} for t, n in seen.errors_over_time],
        "vitals": [
            {
                "metric": vital.metric,
                "p50": vital.p50,
                "p75": vital.p75,
                "p95": vital.p95,
                "samples": vital.samples,
                "rating": {
                    name: rating(vital.metric, value)
                    for name, value in (("p50", vital.p50), ("p75", vital.p75), ("p95", vital.p95))
                },
            }
            for vital in seen.vitals
        ],
        "recent_errors": seen.recent_errors,
        "error_rate": {
            "minutes": rate.minutes,
            "errors": rate.errors,
            "per_minute": rate.per_minute,
        },
    }
