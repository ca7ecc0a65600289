"""The app's health: ``GET /v1/apps/{id}/analytics`` (pageviews, events, errors over time,
Web Vitals, recent errors) and ``GET .../error-rate`` (errors of the last minutes).

Answers are the SDK's ``AppAnalyticsResponse`` and ``ErrorRateResponse``, read tolerantly:
a missing count is 0, a list item that is not an object is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient


@dataclass(frozen=True, kw_only=True)
class Vital:
    metric: str
    p50: float | None
    p75: float | None
    p95: float | None
    samples: int


@dataclass(frozen=True, kw_only=True)
class Analytics:
    hours: int
    pageviews: int
    events: int
    errors: int
    error_rate_per_minute: float | None
    errors_over_time: list[tuple[str, int]]  # (bucket timestamp, count), as answered
    vitals: list[Vital]
    recent_errors: list[dict[str, str | None]]  # timestamp, error_type, error_message, url


@dataclass(frozen=True, kw_only=True)
class ErrorRate:
    minutes: int
    errors: int
    per_minute: float | None


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def parse_analytics(data: Mapping[str, Any], *, hours: int) -> Analytics:
    buckets = [
        (item["timestamp"], _count(item, "count"))
        for item in _objects(data.get("errors_over_time"))
        if isinstance(item.get("timestamp"), str)
    ]
    vitals = [
        Vital(
            metric=item["metric_name"],
            p50=_number(item.get("p50")),
            p75=_number(item.get("p75")),
            p95=_number(item.get("p95")),
            samples=_count(item, "sample_count"),
        )
        for item in _objects(data.get("vitals"))
        if isinstance(item.get("metric_name"), str)
    ]
    recent = [
        {
            "timestamp": _text(item.get("timestamp")),
            "error_type": _text(item.get("error_type")),
            "error_message": _text(item.get("error_message")),
            "url": _text(item.get("url")),
        }
        for item in _objects(data.get("recent_errors"))
    ]
    period = data.get("period_hours")
    return Analytics(
        hours=period if isinstance(period, int) and not isinstance(period, bool) else hours,
        pageviews=_count(data, "total_pageviews"),
        events=_count(data, "total_events"),
        errors=_count(data, "total_errors"),
        error_rate_per_minute=_number(data.get("error_rate_per_minute")),
        errors_over_time=buckets,
        vitals=vitals,
        recent_errors=recent,
    )


def parse_error_rate(data: Mapping[str, Any], *, minutes: int) -> ErrorRate:
    period = data.get("period_minutes")
    return ErrorRate(
        minutes=period if isinstance(period, int) and not isinstance(period, bool) else minutes,
        errors=_count(data, "error_count"),
        per_minute=_number(data.get("rate_per_minute")),
    )


def analytics(api: ApiClient, app_id: str, hours: int) -> Analytics:
    data = api.call("GET", f"/v1/apps/{app_id}/analytics", params={"hours": hours})
    return parse_analytics(data, hours=hours)


def error_rate(api: ApiClient, app_id: str, minutes: int) -> ErrorRate:
    data = api.call("GET", f"/v1/apps/{app_id}/error-rate", params={"minutes": minutes})
    return parse_error_rate(data, minutes=minutes)
