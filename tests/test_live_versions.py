"""What is live where, and what `rollback` picks: the app's ``environments``, the
versions' ``is_active``, older records that say where they serve, and none of these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mixpeek_cli.errors import ApiError, UsageError
from mixpeek_cli.history.live import DETAILS_READ, Live, find_live, from_app, from_records
from mixpeek_cli.history.selection import rollback_target, serving
from mixpeek_cli.service.models import AppInfo, parse_app, parse_log_entries
from mixpeek_cli.service.urls import app_site_url, trusted_url
from mixpeek_cli.service.versions import VersionRecord, parse_version, parse_version_detail


def record(version: int, environment: str = "production", **more: Any) -> VersionRecord:
    data = {
        "version": version,
        "environment": environment,
        "asset_prefix": f"app-assets/a/v{version}/",
        "message": f"release {version}",
        **more,
    }
    parsed = parse_version(data)
    assert parsed is not None
    return parsed


# v1 prod, v2 staging, v3 prod, v4 prod, v5 staging: newest first, as the list gives them.
RECORDS = [
    record(5, "staging"),
    record(4),
    record(3),
    record(2, "staging"),
    record(1),
]


def environments(**serving: int) -> dict[str, Any]:
    return {
        env: {"deploy_id": f"dep_{n}", "asset_prefix": f"app-assets/a/v{n}/"}
        for env, n in serving.items()
    }


def test_the_apps_environments_name_the_live_versions_by_asset_prefix() -> None:
    live = from_app(environments(production=3, staging=5), RECORDS)

    assert (live.version("production"), live.version("staging"), live.source) == (3, 5, "app")
    assert live.where(3) == ["production"] and live.where(4) == []


def test_an_entry_with_a_version_number_is_read_by_it() -> None:
    live = from_app({"production": {"version": 4, "deploy_id": "x"}}, RECORDS)

    assert live.version("production") == 4
    # staging is absent from the app's environments: it serves nothing (known, no version).
    assert live.known("staging") and live.version("staging") is None


def test_an_entry_matching_no_version_is_unknown_not_nothing() -> None:
    live = from_app({"production": {"asset_prefix": "app-assets/a/v99/"}}, RECORDS)

    assert not live.known("production")


def test_no_environments_at_all_says_nothing() -> None:
    assert from_app(None, RECORDS).serving == {}


def test_rollback_takes_the_one_deployed_there_before_the_live_one() -> None:
    # Production serves v3 after an earlier rollback from v4: before v3 in production is v1.
    live = from_app(environments(production=3, staging=5), RECORDS)

    current, target = rollback_target(RECORDS, "production", live)
    assert (current.version, target.version) == (3, 1)
    current, target = rollback_target(RECORDS, "staging", live)
    assert (current.version, target.version) == (5, 2)


def test_rollback_refuses_when_nothing_says_what_is_live() -> None:
    with pytest.raises(UsageError, match="does not say which version serves production"):
        rollback_target(RECORDS, "production", Live())


def test_rollback_refuses_when_the_environment_serves_nothing_or_the_first() -> None:
    with pytest.raises(UsageError, match="staging serves nothing"):
        rollback_target(RECORDS, "staging", from_app(environments(production=4), RECORDS))
    with pytest.raises(UsageError, match="version 1 is the first deployed to production"):
        rollback_target(RECORDS, "production", from_app(environments(production=1), RECORDS))


def test_is_active_in_details_is_read_newest_first() -> None:
    details = [
        record(4, is_active={"production": True, "staging": False}),
        record(5, "staging", is_active={"production": False, "staging": True}),
    ]
    live = from_records(details)

    assert (live.version("production"), live.version("staging")) == (4, 5)


def test_older_records_that_list_where_they_serve_still_count() -> None:
    records = [record(3, environments=["production"]), record(2, "staging", environments=[])]
    live = from_records(records)

    assert live.version("production") == 3 and not live.known("staging")
    assert serving(records, "production") == records[0]
    assert serving(records, "staging") is None


class FakeApi:
    """The two reads find_live makes, answering from tables; counts the detail reads."""

    def __init__(self, app: AppInfo, active: Mapping[int, dict[str, bool] | None]) -> None:
        self.app = app
        self.active = active
        self.detail_reads: list[int] = []

    def get_app(self, app_id: str) -> AppInfo:
        return self.app

    def get_version(self, app_id: str, version: int) -> Any:
        self.detail_reads.append(version)
        if version not in self.active:
            raise ApiError("gone", status_code=404)
        flags = self.active[version]
        data: dict[str, Any] = {"version": version}
        if flags is not None:
            data["is_active"] = flags
        return parse_version_detail(data, version=version)


def test_find_live_prefers_the_app_and_reads_no_detail() -> None:
    api = FakeApi(
        AppInfo(app_id="a", slug="s", environments=environments(production=4, staging=5)), {}
    )

    live = find_live(api, "a", RECORDS)  # type: ignore[arg-type]

    assert (live.version("production"), live.version("staging")) == (4, 5)
    assert api.detail_reads == []


def test_find_live_reads_details_until_both_environments_are_found() -> None:
    active = {
        5: {"production": False, "staging": True},
        4: {"production": False, "staging": False},
        3: {"production": True, "staging": False},
        2: {"production": False, "staging": False},
        1: {"production": False, "staging": False},
    }
    api = FakeApi(AppInfo(app_id="a", slug="s"), active)

    live = find_live(api, "a", RECORDS)  # type: ignore[arg-type]

    assert (live.version("production"), live.version("staging"), live.source) == (3, 5, "is_active")
    assert api.detail_reads == [5, 4, 3]


def test_find_live_with_every_detail_read_knows_an_environment_serves_nothing() -> None:
    active = {n: {"production": n == 4, "staging": False} for n in range(1, 6)}
    api = FakeApi(AppInfo(app_id="a", slug="s"), active)

    live = find_live(api, "a", RECORDS)  # type: ignore[arg-type]

    assert live.version("production") == 4
    assert live.known("staging") and live.version("staging") is None


def test_find_live_stops_when_the_service_says_nothing() -> None:
    api = FakeApi(AppInfo(app_id="a", slug="s"), {5: None, 4: None})

    live = find_live(api, "a", RECORDS)  # type: ignore[arg-type]

    assert live.serving == {} and api.detail_reads == [5]


def test_find_live_reads_at_most_the_newest_few_details() -> None:
    records = [record(n) for n in range(30, 0, -1)]
    api = FakeApi(AppInfo(app_id="a", slug="s"), {n: {"production": False} for n in range(1, 31)})

    live = find_live(api, "a", records)  # type: ignore[arg-type]

    assert len(api.detail_reads) == DETAILS_READ
    assert not live.known("production")


def test_a_version_detail_counts_its_files_and_lists_its_sources() -> None:
    detail = parse_version_detail(
        {
            "version": 7,
            "asset_manifest": {
                "index.html": {"s3_key": "k", "hash": "h1", "size": 100},
                "app.js": {"s3_key": "k2", "hash": "h2", "size": 50},
            },
            "source_files": {"src/b.ts": "x", "src/a.ts": "y"},
            "build_duration_ms": 1234,
            "is_active": {"production": True, "staging": False},
        },
        version=7,
    )

    assert [a.path for a in detail.assets] == ["app.js", "index.html"]
    assert sum(a.size or 0 for a in detail.assets) == 150
    assert detail.source_paths == ["src/a.ts", "src/b.ts"]
    assert detail.record.serving == ("production",)
    assert detail.build_duration_ms == 1234


@pytest.mark.parametrize(
    ("url", "base", "trusted"),
    [
        ("https://my-app.mxp.co", "https://api.mixpeek.com", True),
        ("https://my-app.mxp.co/", "https://api.mixpeek.com", True),
        ("http://my-app.mxp.co", "https://api.mixpeek.com", False),
        ("https://evil.example/login", "https://api.mixpeek.com", False),
        ("https://my-app.mxp.co.evil.example", "https://api.mixpeek.com", False),
        ("https://a.b.mxp.co", "https://api.mixpeek.com", False),
        ("https://My_App.mxp.co", "https://api.mixpeek.com", False),
        ("https://my-app.mxp.co/x?next=evil", "https://api.mixpeek.com", False),
        ("https://user@my-app.mxp.co", "https://api.mixpeek.com", False),
        ("https://my-app.mxp.co:8443", "https://api.mixpeek.com", False),
        ("http://my-app.localhost:8080", "http://127.0.0.1:8080", True),
        ("http://my-app.localhost:8080", "https://api.mixpeek.com", False),
        ("http://evil.example:8080", "http://127.0.0.1:8080", False),
    ],
)
def test_the_apps_url_is_trusted_only_in_the_published_form(
    url: str, base: str, trusted: bool
) -> None:
    assert trusted_url(url, base) is trusted


def test_the_production_url_comes_from_the_apps_url_else_the_slug() -> None:
    base = "https://api.mixpeek.com"
    assert app_site_url(base, "my-app", "https://canonical.mxp.co", "production") == (
        "https://canonical.mxp.co"
    )
    assert app_site_url(base, "my-app", "https://evil.example", "production") == (
        "https://my-app.mxp.co"
    )
    assert app_site_url(base, "my-app", "https://canonical.mxp.co", "staging") == (
        "https://staging-my-app.mxp.co"
    )
    assert app_site_url(base, "../x", "https://evil.example", "production") is None
    # A slug outside the pattern makes the whole answer suspect: not even a good url.
    assert app_site_url(base, "../x", "https://x-1.mxp.co", "production") is None
    assert app_site_url(base, None, "https://x-1.mxp.co", "production") == "https://x-1.mxp.co"


def test_apps_are_read_with_their_url_and_environments() -> None:
    app = parse_app(
        {"app_id": "a", "slug": "s-1", "url": "https://s-1.mxp.co", "environments": {}},
        app_id="a",
    )
    assert (app.url, app.environments) == ("https://s-1.mxp.co", {})


def test_log_entries_are_read_from_results_before_entries() -> None:
    both = {"results": [{"m": "new"}], "entries": [{"m": "old"}]}
    assert parse_log_entries(both) == [{"m": "new"}]
    assert parse_log_entries({"entries": [{"m": "old"}]}) == [{"m": "old"}]
    with pytest.raises(ApiError, match="'results'"):
        parse_log_entries({"logs": []})
