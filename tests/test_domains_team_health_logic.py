"""The pure parts of domains, git, team and health (issue 22), in process: the domain
check, GitHub URLs, Web Vitals ratings, the errors chart, tolerant answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mixpeek_cli.commands.domains import domain_name
from mixpeek_cli.commands.stats_view import chart_rows, error_columns, rating, shown_value
from mixpeek_cli.errors import ApiError, AuthError, UsageError
from mixpeek_cli.git.origin import github_repo_url
from mixpeek_cli.service.analytics import parse_analytics, parse_error_rate
from mixpeek_cli.service.domains import parse_domain
from mixpeek_cli.service.repo import app_not_installed


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("Shop.Example.com.", "shop.example.com"),
        (" app.example.co.uk ", "app.example.co.uk"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.c-d.io", "a-b.c-d.io"),
    ],
)
def test_a_domain_is_sent_in_its_one_form(given: str, sent: str) -> None:
    assert domain_name(given) == sent


@pytest.mark.parametrize(
    "bad",
    [
        "https://shop.example.com/",
        "shop.example.com/path",
        "shop.example.com:8080",
        "localhost",
        "10.0.0.1",
        "*.example.com",
        "a_b.example.com",
        "-a.example.com",
        "a..example.com",
        "exa mple.com",
        "x" * 64 + ".example.com",
        "",
    ],
)
def test_what_is_no_domain_is_refused_before_anything_is_sent(bad: str) -> None:
    with pytest.raises(UsageError, match="is not a domain name"):
        domain_name(bad)


def test_a_mixpeek_address_is_no_custom_domain() -> None:
    with pytest.raises(UsageError, match="is a Mixpeek address already"):
        domain_name("my-app.mxp.co")


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("https://github.com/acme/site", "https://github.com/acme/site"),
        ("https://github.com/acme/site.git/", "https://github.com/acme/site"),
        ("https://ada:ghp_token@github.com/acme/site.git", "https://github.com/acme/site"),
        ("git@github.com:acme/site.git", "https://github.com/acme/site"),
        ("ssh://git@github.com:22/acme/my.site", "https://github.com/acme/my.site"),
        ("github.com/acme/site", "https://github.com/acme/site"),
        ("https://www.github.com/acme/site", "https://github.com/acme/site"),
    ],
)
def test_a_github_remote_becomes_its_https_url_without_credentials(remote: str, url: str) -> None:
    assert github_repo_url(remote) == url


@pytest.mark.parametrize(
    "remote",
    [
        "https://gitlab.com/acme/site",
        "https://github.com/acme",
        "https://github.com/acme/site/tree/main",
        "https://github.com/-acme/site",
        "file:///srv/git/site.git",
        "/srv/git/site.git",
        "https://github.com.evil.example/acme/site",
    ],
)
def test_anything_else_is_no_github_repository(remote: str) -> None:
    assert github_repo_url(remote) is None


@pytest.mark.parametrize(
    ("metric", "value", "verdict"),
    [
        ("LCP", 2500, "good"),
        ("LCP", 2501, "needs-improvement"),
        ("LCP", 4000, "needs-improvement"),
        ("lcp", 4001, "poor"),
        ("INP", 200, "good"),
        ("INP", 500, "needs-improvement"),
        ("INP", 501, "poor"),
        ("CLS", 0.1, "good"),
        ("CLS", 0.25, "needs-improvement"),
        ("CLS", 0.26, "poor"),
        ("FCP", 1800, "good"),
        ("FCP", 3001, "poor"),
        ("TTFB", 800, "good"),
        ("TTFB", 1800, "needs-improvement"),
        ("TTFB", 1801, "poor"),
        ("custom", 1, None),
        ("LCP", None, None),
    ],
)
def test_web_vitals_are_rated_against_the_usual_thresholds(
    metric: str, value: float | None, verdict: str | None
) -> None:
    assert rating(metric, value) == verdict


def test_vitals_are_shown_in_their_units() -> None:
    assert [shown_value("LCP", 2100), shown_value("INP", 180), shown_value("CLS", 0.049)] == [
        "2.10 s",
        "180 ms",
        "0.05",
    ]
    assert (shown_value("LCP", None), shown_value("custom", 3.5)) == ("-", "3.5")


def test_errors_fall_in_their_columns_and_the_chart_scales_to_the_highest() -> None:
    now = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)
    buckets = [
        {"timestamp": (now - timedelta(hours=23, minutes=50)).isoformat(), "count": 2},
        {"timestamp": "2026-12-01T12:00:00Z", "count": 4},
        {"timestamp": "2026-11-01T00:00:00+00:00", "count": 9},  # outside the window
        {"timestamp": "yesterday", "count": 9},  # unreadable
    ]
    columns, span = error_columns(buckets, 24, now)
    assert (span, len(columns), columns[0], columns[-1], sum(columns)) == (1, 24, 2, 4, 6)
    month, span = error_columns([], 720, now)
    assert (span, len(month)) == (15, 48)
    assert chart_rows([0, 2, 4], height=2) == ["  █", " ██"]
    assert chart_rows([1, 8], height=1) == ["▁█"]
    assert chart_rows([0, 0], height=2) == ["  ", "▁▁"]


def test_answers_are_read_tolerantly() -> None:
    empty = parse_analytics({}, hours=6)
    assert (empty.hours, empty.pageviews, empty.errors, empty.vitals, empty.recent_errors) == (
        6,
        0,
        0,
        [],
        [],
    )
    odd = parse_analytics(
        {
            "total_pageviews": True,
            "errors_over_time": [1, {"timestamp": "t", "count": 2}],
            "vitals": [{"metric_name": "LCP", "p50": "fast"}],
            "recent_errors": ["x", {"error_message": "boom"}],
        },
        hours=1,
    )
    assert odd.pageviews == 0 and odd.errors_over_time == [("t", 2)]
    assert (odd.vitals[0].p50, odd.vitals[0].samples) == (None, 0)
    assert odd.recent_errors[0]["error_message"] == "boom"
    assert parse_error_rate({"error_count": 3}, minutes=5).minutes == 5
    domain = parse_domain({"domain": "a.example.com"})
    assert domain.status == "unknown"
    assert [r["value"] for r in domain.records()] == [None, None]


def test_a_refused_connect_means_no_github_app_when_the_service_says_so() -> None:
    assert app_not_installed(ApiError("x", status_code=400, code="github_app_not_installed"))
    assert app_not_installed(ApiError("Install the Mixpeek GitHub App first", status_code=404))
    assert app_not_installed(AuthError("the GitHub App is not installed on acme"))
    assert not app_not_installed(ApiError("GitHub App install failed", status_code=500))
    assert not app_not_installed(ApiError("repo_url is not valid", status_code=400))


def test_the_oracle_takes_any_object_where_the_sdk_types_the_answer_object() -> None:
    from sdk_oracle import check

    def exchange(answer: object) -> dict[str, object]:
        return {
            "method": "GET",
            "path": "/v1/apps/a/github/install-url",
            "status": 200,
            "response": answer,
        }

    assert check(exchange({"install_url": "https://github.com/apps/x"})) == []
    [finding] = check(exchange(["https://github.com/apps/x"]))
    assert "the SDK's `object`, got list" in finding


def test_the_dashboard_shows_totals_chart_vitals_and_recent_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mixpeek_cli.commands.stats_view import print_dashboard

    now = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc)
    data = {
        "hours": 24,
        "pageviews": 3,
        "events": 9,
        "errors": 1,
        "error_rate_per_minute": 0.0007,
        "errors_over_time": [{"timestamp": "2026-12-01T11:00:00+00:00", "count": 1}],
        "vitals": [
            {
                "metric": "LCP",
                "p50": 1200.0,
                "p75": 2600.0,
                "p95": 4100.0,
                "samples": 3,
                "rating": {"p50": "good", "p75": "needs-improvement", "p95": "poor"},
            }
        ],
        "recent_errors": [
            {
                "timestamp": "2026-12-01T11:10:00+00:00",
                "error_type": "TypeError",
                "error_message": "x is\nundefined \x1b[31m",
                "url": "/about",
            }
        ],
        "error_rate": {"minutes": 5, "errors": 0, "per_minute": 0.0},
    }
    print_dashboard(data, now=now)
    shown = capsys.readouterr().out
    assert "last 24 h: 3 pageviews · 9 events · 1 error (0.0007/min)" in shown
    assert "last 5 min: 0 errors (0/min)" in shown
    assert "█" in shown and "-24 h" in shown and "now" in shown
    assert "2.60 s" in shown and "needs-improvement" in shown
    assert "x is undefined" in shown and "\x1b[31m" not in shown
    empty = {**data, "errors_over_time": [], "vitals": [], "recent_errors": []}
    print_dashboard(empty, now=now)
    assert "Web Vitals" not in capsys.readouterr().out
