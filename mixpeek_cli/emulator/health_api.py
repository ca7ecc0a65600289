"""The published health calls: ``GET /v1/apps/{id}/analytics?hours=`` and
``GET .../error-rate?minutes=``, computed from ``health_store``'s samples.

``errors_over_time`` has one bucket per hour that had errors (oldest first, the hour's
start as its timestamp); vitals are nearest-rank percentiles per metric; the recent
errors are the newest ten.
"""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi import APIRouter, Query

from mixpeek_cli.emulator.admin_models import (
    Analytics,
    ErrorBucket,
    ErrorRate,
    RecentError,
    VitalsSummary,
)
from mixpeek_cli.emulator.health_store import Sample
from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.state import EmulatorState

RECENT_ERRORS = 10


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (not empty)."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def analytics(app_id: str, hours: int, samples: list[Sample]) -> Analytics:
    """The answer for the samples of the last ``hours`` (oldest first)."""
    errors = [s for s in samples if s.kind == "error"]
    buckets: dict[str, int] = {}
    for error in errors:
        hour = iso(error.at.replace(minute=0, second=0, microsecond=0))
        buckets[hour] = buckets.get(hour, 0) + 1
    metrics: dict[str, list[float]] = {}
    for vital in (s for s in samples if s.kind == "vital"):
        metrics.setdefault(vital.name or "", []).append(vital.value or 0.0)
    vitals = []
    for name, values in metrics.items():
        ordered = sorted(values)
        vitals.append(
            VitalsSummary(
                metric_name=name,
                p50=percentile(ordered, 0.50),
                p75=percentile(ordered, 0.75),
                p95=percentile(ordered, 0.95),
                sample_count=len(ordered),
            )
        )
    recent = [
        RecentError(
            timestamp=iso(error.at),
            error_type=error.name or "Error",
            error_message=error.message or "",
            url=error.path,
        )
        for error in reversed(errors[-RECENT_ERRORS:])
    ]
    return Analytics(
        app_id=app_id,
        period_hours=hours,
        total_errors=len(errors),
        error_rate_per_minute=len(errors) / (hours * 60),
        errors_over_time=[ErrorBucket(timestamp=t, count=n) for t, n in buckets.items()],
        vitals=vitals,
        recent_errors=recent,
        total_events=len(samples),
        total_pageviews=sum(1 for s in samples if s.kind == "pageview"),
    )


def add_health_routes(router: APIRouter, state: EmulatorState) -> None:
    health = state.admin.health

    @router.get("/apps/{app_id}/analytics", response_model=Analytics)
    def get_analytics(app_id: str, hours: int = Query(default=24, ge=1, le=720)) -> Analytics:
        since = utc_now() - timedelta(hours=hours)
        return analytics(app_id, hours, health.since(app_id, since))

    @router.get("/apps/{app_id}/error-rate", response_model=ErrorRate)
    def error_rate(app_id: str, minutes: int = Query(default=5, ge=1, le=1440)) -> ErrorRate:
        since = utc_now() - timedelta(minutes=minutes)
        count = sum(1 for s in health.since(app_id, since) if s.kind == "error")
        return ErrorRate(
            app_id=app_id,
            error_count=count,
            period_minutes=minutes,
            rate_per_minute=count / minutes,
        )
