"""The emulator speaks the live shapes (issue 21, shared/API.md v3), over real HTTP: strict
bodies, apps with url and environments, the list envelope, version detail, promote, logs
under results, error codes."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.emulator.sites import app_slug, site_url

AUTH = {"Authorization": "Bearer sk_test_live_shapes"}


@pytest.fixture
def api(emu: Emulator) -> Any:
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def app_id() -> str:
    return f"app_{uuid.uuid4().hex[:10]}"


def site_zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("index.html", f"<html><body>{text}</body></html>")
    return buffer.getvalue()


def wait_final(api: httpx.Client, app_id: str, deploy_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        answer: dict[str, Any] = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
        if answer["status"] in ("complete", "failed"):
            return answer
        assert time.monotonic() < deadline, f"deploy {deploy_id} never finished"
        time.sleep(0.05)


def ship(api: httpx.Client, app_id: str, text: str, environment: str) -> str:
    target = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "b.zip"}).json()
    put = httpx.put(
        target["upload_url"], content=site_zip(text), headers={"Content-Type": "application/zip"}
    )
    assert put.status_code == 200
    body = {"message": text, "environment": environment, "bundle_s3_key": target["bundle_s3_key"]}
    created = api.post(f"/v1/apps/{app_id}/deploy", json=body)
    assert created.status_code == 200, created.text
    deploy_id: str = created.json()["deploy_id"]
    assert wait_final(api, app_id, deploy_id)["status"] == "complete"
    return deploy_id


def site_text(emu: Emulator, app_id: str, environment: str) -> str:
    """The site's ``/``, asked of the emulator with the site's Host (no DNS needed)."""
    host = urlsplit(site_url(emu.base_url, app_slug(app_id), environment)).netloc
    with httpx.Client(base_url=emu.base_url, headers={"Host": host}, trust_env=False) as c:
        return c.get("/").text


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/deploy/upload-url", {"filename": "b.zip", "size": 3}, "size"),
        ("/deploy/verify-upload", {"bundle_s3_key": "k", "etag": "x"}, "etag"),
        ("/deploy", {"message": "m", "bundle_s3_key": "k", "sha256": "ab"}, "sha256"),
        ("/versions/1/restore", {"environment": "staging", "force": True}, "force"),
    ],
)
def test_an_undeclared_body_key_is_422_extra_forbidden(
    api: httpx.Client, app_id: str, path: str, body: dict[str, Any], key: str
) -> None:
    answer = api.post(f"/v1/apps/{app_id}{path}", json=body)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", key],
                "msg": "Extra inputs are not permitted",
                "input": body[key],
            }
        ]
    }


def test_body_types_are_strict(api: httpx.Client, app_id: str) -> None:
    cases = [
        ("/deploy/upload-url", {"filename": 12}, "filename", "string_type"),
        ("/deploy", {"message": "m", "bundle_s3_key": "k", "git_author": 1}, "git_author", None),
        ("/deploy", {"bundle_s3_key": "k", "source_files": {"a.py": 1}}, "source_files", None),
    ]
    for path, body, field, kind in cases:
        answer = api.post(f"/v1/apps/{app_id}{path}", json=body)
        assert answer.status_code == 422, (path, body)
        [error] = answer.json()["detail"]
        assert error["loc"][:2] == ["body", field]
        assert kind is None or error["type"] == kind
    # Null is the SDK's default, as its from_dict reads it.
    nulls = {"message": None, "environment": None, "source": None, "bundle_s3_key": "k"}
    answer = api.post(f"/v1/apps/{app_id}/deploy", json=nulls)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["message"], answer.json()["environment"]) == (
        "Deploy via bundle upload",
        "production",
    )


def test_an_app_says_where_it_is_served_and_what_each_environment_serves(
    emu: Emulator, api: httpx.Client, app_id: str
) -> None:
    fresh = api.get(f"/v1/apps/{app_id}").json()
    assert fresh["url"] == site_url(emu.base_url, app_slug(app_id), "production")
    assert (fresh["environments"], fresh["version"], fresh["versions"]) == ({}, 0, [])
    assert (fresh["is_active"], fresh["custom_domains"]) == (True, [])
    assert fresh["created_at"] == fresh["updated_at"]

    production = ship(api, app_id, "one", "production")
    staging = ship(api, app_id, "two", "staging")
    app = api.get(f"/v1/apps/{app_id}").json()
    assert app["environments"] == {
        "production": {
            "deploy_id": production,
            "asset_prefix": f"app-assets/{app_id}/v1/",
            "version": 1,
        },
        "staging": {"deploy_id": staging, "asset_prefix": f"app-assets/{app_id}/v2/", "version": 2},
    }
    assert app["version"] == 2
    assert [v["version"] for v in app["versions"]] == [2, 1]
    assert app["updated_at"] > app["created_at"]


def test_build_config_secrets_are_masked(emu: Emulator, api: httpx.Client, app_id: str) -> None:
    control = httpx.put(
        f"{emu.base_url}/_emulator/apps/{app_id}",
        json={
            "title": "Shop Search",
            "env_vars": {"THEME": "dark"},
            "secrets": {"STRIPE_KEY": "sk_live_do_not_show"},
        },
        timeout=10,
    )
    assert control.status_code == 200, control.text
    for answer in (
        api.get(f"/v1/apps/{app_id}"),
        api.get("/v1/apps", params={"slug": app_slug(app_id)}),
    ):
        assert "sk_live_do_not_show" not in answer.text
    app = api.get(f"/v1/apps/{app_id}").json()
    assert app["build_config"]["env_vars"] == {"THEME": "dark"}
    assert app["build_config"]["secrets"] == {"STRIPE_KEY": "***"}
    assert app["meta"]["title"] == "Shop Search"
    # An unknown field is refused, not ignored.
    assert (
        httpx.put(f"{emu.base_url}/_emulator/apps/{app_id}", json={"slug": "x"}).status_code == 422
    )


def test_the_app_list_envelope_pages_and_filters(
    emu: Emulator, api: httpx.Client, app_id: str
) -> None:
    ids = [f"{app_id}_{n}" for n in range(3)]
    for n, one in enumerate(ids):
        httpx.put(f"{emu.base_url}/_emulator/apps/{one}", json={"title": f"Needle {n} app"})
    everything = api.get("/v1/apps", params={"limit": 1000}).json()
    assert set(everything) == {"results", "total_count", "limit", "offset", "max_apps"}
    assert everything["total_count"] == len(everything["results"])
    assert (everything["limit"], everything["offset"], everything["max_apps"]) == (1000, 0, None)

    found = api.get("/v1/apps", params={"search": "NEEDLE", "limit": 2, "offset": 1}).json()
    assert found["total_count"] == 3
    assert [a["app_id"] for a in found["results"]] == ids[1:3]
    assert (found["limit"], found["offset"]) == (2, 1)

    exact = api.get("/v1/apps", params={"slug": app_slug(ids[0])}).json()
    assert [a["app_id"] for a in exact["results"]] == [ids[0]]
    assert exact["results"][0]["url"] == site_url(emu.base_url, app_slug(ids[0]), "production")
    assert "versions" not in exact["results"][0]
    none = api.get("/v1/apps", params={"slug": app_slug(ids[0])[:-1]}).json()
    assert (none["results"], none["total_count"]) == ([], 0)


def test_a_version_detail_says_where_it_is_live(api: httpx.Client, app_id: str) -> None:
    ship(api, app_id, "one", "production")
    ship(api, app_id, "two", "production")
    listed = api.get(f"/v1/apps/{app_id}/versions").json()
    assert listed["total"] == 2
    detail = api.get(f"/v1/apps/{app_id}/versions/1").json()
    assert detail["is_active"] == {"production": False, "staging": False}
    assert {k: v for k, v in detail.items() if k != "is_active"} == listed["versions"][1]
    assert api.get(f"/v1/apps/{app_id}/versions/2").json()["is_active"] == {
        "production": True,
        "staging": False,
    }
    missing = api.get(f"/v1/apps/{app_id}/versions/3")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": f"Version 3 of app {app_id} not found",
        "type": "NotFoundError",
        "code": "version_not_found",
        "details": None,
    }


def test_promote_makes_production_serve_what_staging_serves(
    emu: Emulator, api: httpx.Client, app_id: str
) -> None:
    nothing = api.post(f"/v1/apps/{app_id}/promote")
    assert nothing.status_code == 400
    error = nothing.json()["error"]
    assert (error["type"], error["code"]) == ("BadRequestError", "staging_not_deployed")
    assert "staging" in error["message"] and "Deploy to staging first" in error["message"]

    ship(api, app_id, "live one", "production")
    ship(api, app_id, "candidate two", "staging")
    assert "live one" in site_text(emu, app_id, "production")

    answer = api.post(f"/v1/apps/{app_id}/promote")
    assert answer.status_code == 200, answer.text
    promoted = answer.json()
    assert set(promoted) == {"app_id", "version", "deploy_id", "environment", "asset_prefix"}
    assert (promoted["app_id"], promoted["version"], promoted["environment"]) == (
        app_id,
        2,
        "production",
    )
    assert promoted["asset_prefix"] == f"app-assets/{app_id}/v2/"
    final = wait_final(api, app_id, promoted["deploy_id"])
    assert (final["status"], final["environment"]) == ("complete", "production")
    assert final["message"] == "Promote version 2 from staging"

    assert "candidate two" in site_text(emu, app_id, "production")
    environments = api.get(f"/v1/apps/{app_id}").json()["environments"]
    assert environments["production"]["version"] == environments["staging"]["version"] == 2
    assert environments["production"]["deploy_id"] == promoted["deploy_id"]
    detail = api.get(f"/v1/apps/{app_id}/versions/2").json()
    assert detail["is_active"] == {"production": True, "staging": True}
    # No new version: a promote publishes the version again.
    assert api.get(f"/v1/apps/{app_id}/versions").json()["total"] == 2


def test_app_logs_answer_results_and_the_entries_alias(
    emu: Emulator, api: httpx.Client, app_id: str
) -> None:
    emu.state.add_runtime_log(app_id, "error", "boom", "/functions/x")
    body = api.get(f"/v1/apps/{app_id}/logs").json()
    assert set(body) == {"app_id", "log_type", "results", "entries"}
    assert [e["message"] for e in body["results"]] == ["boom"]
    assert body["entries"] == body["results"]


def test_every_answer_is_recorded_beside_its_request(
    emu: Emulator, api: httpx.Client, app_id: str
) -> None:
    answer = api.get(f"/v1/apps/{app_id}/versions")
    emu.state.add_fault(method="GET", path="/versions$", status=503, body={"x": 1})
    api.get(f"/v1/apps/{app_id}/versions")
    deadline = time.monotonic() + 5
    while sum(r.get("response") is not None for r in emu.state.requests) < 2:
        assert time.monotonic() < deadline, emu.state.requests
        time.sleep(0.01)
    real, faulted = emu.state.requests
    assert (real["status"], real["response"], real["fault"]) == (200, answer.json(), False)
    assert (faulted["status"], faulted["response"], faulted["fault"]) == (503, {"x": 1}, True)
