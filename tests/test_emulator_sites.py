"""The emulator builds and serves Canvas sites: validation, publishing, ``*.localhost`` serving.

Everything goes over real HTTP: bundles are uploaded through upload-url and the presigned
PUT and deployed with the published calls (httpx); sites are read from the emulator's own
server with the Host header a browser sends for ``http://<label>.localhost:<port>``.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.emulator.bundles import BundleError, site_from_zip
from mixpeek_cli.emulator.site_server import content_type, inject, mixpeek_globals_script
from mixpeek_cli.emulator.sites import app_slug, resolve_label, site_label, site_url
from mixpeek_cli.emulator.smoke import SMOKE_USER_AGENT

BUILD_SECONDS = 0.1
AUTH = {"Authorization": "Bearer sk_test_sites"}
STAGE_LINES = [
    "Downloading bundle from S3...",
    "Extracting bundle...",
    "Validating bundle (index.html, size)...",
]
NO_INDEX = "Bundle has no index.html at its root or in a single top-level folder"
GLOBALS = re.compile(r"<script>window\.__MIXPEEK__ = (.*?);</script>")

INDEX = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>A</title>'
    '<link rel="stylesheet" href="/assets/app.css"></head>'
    '<body><div id="root">version A</div><script src="/assets/app.js"></script></body></html>'
)
# One tiny valid PNG: the bytes must come back untouched.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
WASM = b"\x00asm\x01\x00\x00\x00"
FILES: dict[str, str | bytes] = {
    "index.html": INDEX,
    "assets/app.js": "document.title = '</script>';\n",
    "assets/app.css": "body { color: red }\n",
    "data/config.json": '{"theme": "dark"}',
    "logo.svg": '<svg xmlns="http://www.w3.org/2000/svg"><head></head></svg>',
    "img/pixel.png": PNG,
    "wasm/mod.wasm": WASM,
    "docs/index.html": "<html><head></head><body>docs home</body></html>",
    "docs/guide/intro.html": "<p>no head here</p>",
    "robots.txt": "User-agent: *\n",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_controls(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.state.configure(
        build_seconds=BUILD_SECONDS, fail_builds_with=None, smoke_test_errors=None
    )


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def app_id() -> str:
    return f"app_{uuid.uuid4().hex[:10]}"


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def ship(
    api: httpx.Client, app_id: str, bundle: bytes, environment: str = "production"
) -> dict[str, Any]:
    """Upload ``bundle`` and deploy it with the published calls; the final status answer."""
    target = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "app.zip"})
    assert target.status_code == 200, target.text
    stored = httpx.put(
        target.json()["upload_url"], content=bundle, headers={"Content-Type": "application/zip"}
    )
    assert stored.status_code == 200, stored.text
    return deploy(
        api, app_id, environment=environment, bundle_s3_key=target.json()["bundle_s3_key"]
    )


def deploy(api: httpx.Client, app_id: str, **body: Any) -> dict[str, Any]:
    created = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "ship", **body})
    assert created.status_code == 200, created.text
    deploy_id = created.json()["deploy_id"]
    deadline = time.monotonic() + 10
    while True:
        answer: dict[str, Any] = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
        if answer["status"] in ("complete", "failed"):
            return answer
        assert time.monotonic() < deadline, f"deploy {deploy_id} never finished"
        time.sleep(0.02)


def port_of(emulator: Emulator) -> int:
    port = urlsplit(emulator.base_url).port
    assert port is not None
    return port


def host(emulator: Emulator, app_id: str, environment: str = "production") -> str:
    """The Host header a browser sends for the app's site URL."""
    return urlsplit(site_url(emulator.base_url, app_slug(app_id), environment)).netloc


def site(emulator: Emulator, app_id: str, environment: str = "production") -> httpx.Client:
    """A client for the site: connects to the emulator, says the site's host name."""
    return httpx.Client(
        base_url=emulator.base_url,
        headers={"Host": host(emulator, app_id, environment)},
        timeout=10,
        trust_env=False,
    )


def raw_get(emulator: Emulator, host_header: str, path: str) -> tuple[int, bytes]:
    """A GET whose path goes out byte for byte (httpx would normalise ``..`` away)."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(emulator), timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host_header})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def globals_in(html: str) -> dict[str, Any]:
    [found] = GLOBALS.findall(html)
    value: dict[str, Any] = json.loads(found)
    return value


def mine(emulator: Emulator, app_id: str) -> list[dict[str, Any]]:
    return [r for r in emulator.state.site_requests if r["app_id"] == app_id]


# -- serving a deployed site ----------------------------------------------------------------


def test_index_is_served_with_mixpeek_globals_injected_after_head(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    assert ship(api, app_id, make_zip(FILES))["status"] == "complete"
    with site(emulator, app_id) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert globals_in(page.text) == {
        "apiBaseUrl": "/api",
        "appId": app_id,
        "slug": app_slug(app_id),
        "environment": "production",
    }
    # Right after <head>, the rest of the document untouched.
    script = GLOBALS.search(page.text)
    assert script is not None
    before, after = page.text[: script.start()], page.text[script.end() :]
    assert before == '<!doctype html>\n<html lang="en"><head>'
    assert before + after == INDEX
    assert int(page.headers["content-length"]) == len(page.content)


def test_assets_get_their_content_types_and_are_never_injected(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    expected = {
        "/assets/app.js": "text/javascript; charset=utf-8",
        "/assets/app.css": "text/css; charset=utf-8",
        "/data/config.json": "application/json",
        "/logo.svg": "image/svg+xml",
        "/img/pixel.png": "image/png",
        "/wasm/mod.wasm": "application/wasm",
        "/robots.txt": "text/plain; charset=utf-8",
    }
    with site(emulator, app_id) as client:
        for path, kind in expected.items():
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-type"] == kind, path
            original = FILES[path.lstrip("/")]
            raw = original.encode() if isinstance(original, str) else original
            assert answer.content == raw, path  # byte for byte: no script in non-HTML
            assert "__MIXPEEK__" not in answer.text


def test_nested_paths_and_folders_with_an_index(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    with site(emulator, app_id) as client:
        for path in ("/docs", "/docs/", "/docs/index.html"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "docs home" in answer.text
            assert globals_in(answer.text)["appId"] == app_id
        intro = client.get("/docs/guide/intro.html")
        # No <head>: the script opens the document.
        assert intro.text.startswith("<script>window.__MIXPEEK__ = ")
        assert intro.text.endswith("</script><p>no head here</p>")
        assert client.get("/index.html").text == client.get("/").text


def test_unknown_paths_fall_back_to_index_unless_they_name_a_file(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    with site(emulator, app_id) as client:
        index = client.get("/").text
        for route in ("/settings/profile", "/users/42", "/docs/guide", "/a/b/c/"):
            answer = client.get(route)
            assert answer.status_code == 200, route
            assert answer.text == index, route
        for missing in ("/missing.png", "/assets/missing.js", "/docs/guide/outro.html"):
            answer = client.get(missing)
            assert answer.status_code == 404, missing
            assert answer.headers["content-type"].startswith("text/plain")
            assert "__MIXPEEK__" not in answer.text


def test_a_deploy_without_functions_answers_404_there_no_proxy_key_403_other_methods_405(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))  # no source_files: no server function
    with site(emulator, app_id) as client:
        for method in ("GET", "POST"):
            functions = client.request(method, "/functions/hello")
            assert functions.status_code == 404
            assert "no server function serves /functions/hello" in functions.text
            for proxied in ("/api/x", "/_api/x"):
                proxy = client.request(method, proxied)
                assert proxy.status_code == 403
                assert "MIXPEEK_API_KEY" in proxy.json()["error"]
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            refused = client.request(method, "/")
            assert refused.status_code == 405, method
            assert refused.headers["allow"] == "GET, HEAD"
        assert client.post("/assets/app.js", content=b"x").status_code == 405


def test_paths_never_leave_the_site_root(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    name = host(emulator, app_id)
    for path in (
        "/../x",
        "/%2e%2e/x",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/assets/../../x",
        "/..%2fx",
        "/assets/..%5c..%5cx",
    ):
        status, body = raw_get(emulator, name, path)
        assert status == 400, path
        assert b"leave the site root" in body
    # "." parts and repeated slashes are harmless and dropped.
    status, body = raw_get(emulator, name, "/assets/./app.js")
    assert (status, body) == (200, b"document.title = '</script>';\n")


def test_head_answers_the_headers_of_a_get_without_a_body(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    with site(emulator, app_id) as client:
        for path in ("/", "/assets/app.js", "/settings"):
            got = client.get(path)
            head = client.head(path)
            assert head.status_code == 200
            assert head.content == b""
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.headers["content-length"] == str(len(got.content))
        assert client.head("/missing.png").status_code == 404


def test_host_names_are_read_as_browsers_send_them(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    slug = app_slug(app_id)
    for name in (f"{slug}.localhost", f"{slug.upper()}.LOCALHOST:1", f"{slug}.localhost.:9"):
        status, body = raw_get(emulator, name, "/")
        assert status == 200, name
        assert b"version A" in body
    assert site_label("localhost:8787") is None
    assert site_label("127.0.0.1:8787") is None
    assert site_label("[::1]:8787") is None
    assert site_label("Staging-X.localhost:80") == "staging-x"


# -- what a bundle must hold ------------------------------------------------------------------


def test_a_zip_of_a_dist_folder_is_served_from_that_folder(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    bundle = make_zip({f"dist/{name}": content for name, content in FILES.items()})
    answer = ship(api, app_id, bundle)
    assert answer["status"] == "complete", answer["error"]
    assert answer["smoke_test"]["passed"] is True
    with site(emulator, app_id) as client:
        assert "version A" in client.get("/").text
        assert client.get("/assets/app.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/dist/index.html").status_code == 404  # dist/ is the root
    served = emulator.state.sites.current(app_id, "production")
    assert served is not None
    assert sorted(served.files) == sorted(FILES)


@pytest.mark.parametrize(
    ("files", "found"),
    [
        (
            {"main.py": "print(1)", "src/app.js": "x"},
            "1 file at the root: main.py and 1 top-level folder: src/",
        ),
        ({"a/index.html": "<p>a</p>", "b/index.html": "<p>b</p>"}, "2 top-level folders: a/, b/"),
        (
            {"dist/app.js": "x", "dist/sub/index.html": "y"},
            "1 top-level folder: dist/, with no index.html in it",
        ),
        ({"INDEX.HTML": "x"}, "1 file at the root: INDEX.HTML"),
    ],
    ids=["source-tree", "two-folders", "folder-without-index", "wrong-case"],
)
def test_a_bundle_without_index_html_fails_and_serves_nothing(
    emulator: Emulator, api: httpx.Client, app_id: str, files: dict[str, str | bytes], found: str
) -> None:
    answer = ship(api, app_id, make_zip(files))
    reason = f"{NO_INDEX} (found {found})"
    assert (answer["status"], answer["error"], answer["smoke_test"]) == ("failed", reason, None)
    # It fails right after the validation line.
    assert emulator.state.deploy_log(answer["deploy_id"]) == [
        *STAGE_LINES,
        f"Deploy failed: {reason}",
    ]
    assert emulator.state.sites.current(app_id, "production") is None
    with site(emulator, app_id) as client:
        nothing = client.get("/")
    assert nothing.status_code == 404
    assert nothing.text == f"no site deployed to production of {app_id} yet\n"


def test_a_path_leaving_the_bundle_root_fails_the_build(api: httpx.Client, app_id: str) -> None:
    answer = ship(api, app_id, make_zip({"index.html": "x", "../evil.js": "x"}))
    assert (answer["status"], answer["error"]) == (
        "failed",
        "bundle has an unsafe file path: ../evil.js",
    )


def test_a_build_told_to_fail_fails_with_that_reason_whatever_the_bundle(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    marked = make_zip({"main.py": "x", "MIXPEEK_FAIL_BUILD": "told to fail\n"})
    answer = ship(api, app_id, marked)
    assert (answer["status"], answer["error"]) == ("failed", "told to fail")
    lines = emulator.state.deploy_log(answer["deploy_id"])
    assert lines == [*STAGE_LINES, "Uploading 2 assets to S3...", "Deploy failed: told to fail"]

    emulator.state.configure(fail_builds_with="out of disk")
    assert ship(api, app_id, make_zip({"a/x": "1", "b/y": "2"}))["error"] == "out of disk"


def test_site_from_zip_is_the_validation_the_build_runs() -> None:
    assert site_from_zip(make_zip({"out/index.html": "i", "out/a/b.js": "b"})) == {
        "index.html": b"i",
        "a/b.js": b"b",
    }
    assert site_from_zip(make_zip({"index.html": "i", "./x//y.css": "y"})) == {
        "index.html": b"i",
        "x/y.css": b"y",
    }
    for bad in (make_zip({"a.js": "x"}), b"not a zip", make_zip({"/abs/index.html": "x"})):
        with pytest.raises(BundleError):
            site_from_zip(bad)


# -- publishing: environments, replacement, failures ----------------------------------------


def version(letter: str) -> bytes:
    return make_zip(
        {
            "index.html": f"<html><head></head><body>version {letter}</body></html>",
            f"only-{letter}.txt": letter,
        }
    )


def test_staging_and_production_serve_their_own_versions(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    a = ship(api, app_id, version("A"), "production")
    b = ship(api, app_id, version("B"), "staging")
    assert (a["status"], b["status"]) == ("complete", "complete")
    production, staging = site(emulator, app_id), site(emulator, app_id, "staging")
    with production, staging:
        assert "version A" in production.get("/").text
        assert "version B" in staging.get("/").text
        assert globals_in(staging.get("/").text)["environment"] == "staging"
        assert production.get("/only-B.txt").status_code == 404
        assert staging.get("/only-B.txt").text == "B"

        c = ship(api, app_id, version("C"), "production")
        assert "version C" in production.get("/").text
        assert production.get("/only-A.txt").status_code == 404  # replaced, not merged
        assert "version B" in staging.get("/").text

    served = {
        s["environment"]: s
        for s in httpx.get(f"{emulator.base_url}/_emulator/sites").json()
        if s["app_id"] == app_id
    }
    assert served["production"]["deploy_id"] == c["deploy_id"]
    assert served["staging"]["deploy_id"] == b["deploy_id"]
    assert served["staging"]["bundle_s3_key"] == b["bundle_s3_key"]
    assert served["staging"]["url"] == site_url(emulator.base_url, app_slug(app_id), "staging")
    assert served["staging"]["files"] == ["index.html", "only-B.txt"]
    assert datetime.fromisoformat(served["production"]["published_at"]).utcoffset() is not None


def test_a_failed_deploy_leaves_the_previous_site_up(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    good = ship(api, app_id, version("A"))
    for broken in (
        make_zip({"src/main.py": "x", "README.md": "y"}),  # no index.html
        make_zip({"index.html": "<p>new</p>", "MIXPEEK_FAIL_BUILD": "no\n"}),
        b"not a zip",
    ):
        assert ship(api, app_id, broken)["status"] == "failed"
    emulator.state.configure(fail_builds_with="nope")
    assert ship(api, app_id, version("B"))["status"] == "failed"

    with site(emulator, app_id) as client:
        assert "version A" in client.get("/").text
    served = emulator.state.sites.current(app_id, "production")
    assert served is not None and served.deploy_id == good["deploy_id"]


def test_publish_is_one_call_and_is_served_at_once(emulator: Emulator, app_id: str) -> None:
    published = emulator.state.sites.publish(
        app_id,
        "staging",
        {"index.html": b"<head></head>restored", "a.js": b"1"},
        deploy_id="dep_restored",
        bundle_s3_key="app-builds/x/y/app.zip",
    )
    assert (published.deploy_id, published.environment) == ("dep_restored", "staging")
    assert emulator.state.sites.current(app_id, "staging") == published
    with site(emulator, app_id, "staging") as client:
        assert client.get("/").text.endswith("</script></head>restored")
    for bad in (
        {"a.js": b"no index"},
        {"index.html": b"", "../x": b""},
        {"index.html": b"", "/x": b""},
    ):
        with pytest.raises(ValueError):
            emulator.state.sites.publish(app_id, "staging", bad, deploy_id="dep_bad")
    with pytest.raises(ValueError):
        emulator.state.sites.publish(app_id, "preview", {"index.html": b""}, deploy_id="d")


def test_unknown_apps_and_empty_environments_are_404_with_a_reason(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, version("A"), "production")
    with site(emulator, app_id, "staging") as client:
        empty = client.get("/")
    assert empty.status_code == 404
    assert empty.text == f"no site deployed to staging of {app_id} yet\n"
    status, body = raw_get(emulator, f"nobody-{uuid.uuid4().hex[:6]}.localhost", "/")
    assert status == 404
    assert b"has seen no app whose slug is" in body


def test_slugs_that_collide_or_start_with_staging_still_find_their_site(
    emulator: Emulator, api: httpx.Client
) -> None:
    token = uuid.uuid4().hex[:8]
    # An app whose own slug starts with "staging-": no app has the rest as its slug.
    prefixed = f"staging_{token}"
    ship(api, prefixed, version("P"))
    status, body = raw_get(emulator, f"staging-{token}.localhost", "/")
    assert status == 200 and b"version P" in body

    # Two ids, one slug: the site published last is served.
    first, second = f"dup_{token}", f"DUP-{token}"
    assert app_slug(first) == app_slug(second)
    ship(api, first, version("1"))
    ship(api, second, version("2"))
    status, body = raw_get(emulator, f"dup-{token}.localhost", "/")
    assert status == 200 and b"version 2" in body
    assert b'"appId": "' + second.encode() + b'"' in body


# -- the site-request log and the smoke test ------------------------------------------------


def test_site_requests_are_recorded_apart_from_api_requests(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, make_zip(FILES))
    emulator.state.clear_site_requests()
    with site(emulator, app_id) as client:
        client.get("/", headers={"User-Agent": "test-browser/1.0"})
        client.get("/assets/app.js?v=3")
        client.post("/")
        client.get("/nope.png")
    entries = mine(emulator, app_id)
    assert [(r["method"], r["path"], r["status"]) for r in entries] == [
        ("GET", "/", 200),
        ("GET", "/assets/app.js", 200),
        ("POST", "/", 405),
        ("GET", "/nope.png", 404),
    ]
    first = entries[0]
    assert set(first) == {
        "id",
        "method",
        "path",
        "status",
        "duration_ms",
        "user_agent",
        "timestamp",
        "environment",
        "app_id",
    }
    assert first["user_agent"] == "test-browser/1.0"
    assert (first["environment"], first["app_id"]) == ("production", app_id)
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert datetime.fromisoformat(first["timestamp"]).utcoffset() is not None
    site_host = host(emulator, app_id)
    assert not [r for r in emulator.state.requests if r["headers"].get("host") == site_host]

    control = f"{emulator.base_url}/_emulator/site-requests"
    assert httpx.get(control).json() == emulator.state.site_requests
    assert httpx.delete(control).json() == {"site_requests": []}
    assert mine(emulator, app_id) == []


def test_the_smoke_test_really_gets_the_site(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    answer = ship(api, app_id, make_zip(FILES), "staging")
    smoke = answer["smoke_test"]
    assert smoke["passed"] is True and smoke["errors"] == []
    assert smoke["url"] == site_url(emulator.base_url, app_slug(app_id), "staging")
    assert smoke["duration_ms"] > 0
    [made] = [r for r in mine(emulator, app_id) if r["user_agent"] == SMOKE_USER_AGENT]
    assert (made["method"], made["path"], made["status"]) == ("GET", "/", 200)
    assert made["environment"] == "staging"
    # Made by the build, after the deploy was created.
    created = next(r for r in emulator.state.requests if r["path"] == f"/v1/apps/{app_id}/deploy")
    assert made["id"] > created["id"]

    # smoke_test_errors still decides, and the GET is still made.
    emulator.state.configure(smoke_test_errors=["GET / answered 500"])
    forced = ship(api, app_id, make_zip(FILES), "staging")["smoke_test"]
    assert (forced["passed"], forced["errors"]) == (False, ["GET / answered 500"])
    assert len([r for r in mine(emulator, app_id) if r["user_agent"] == SMOKE_USER_AGENT]) == 2


def test_a_git_deploy_publishes_nothing_and_its_smoke_test_says_so(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    answer = deploy(api, app_id, source="git", git_commit_sha="c" * 40)
    assert answer["status"] == "complete"
    assert answer["smoke_test"]["passed"] is False
    assert answer["smoke_test"]["errors"] == ["GET / answered 404"]
    assert emulator.state.sites.current(app_id, "production") is None


# -- the pieces, directly -------------------------------------------------------------------


def test_labels_resolve_to_an_environment_of_a_seen_app() -> None:
    def never(app_id: str, environment: str) -> datetime | None:
        return None

    seen = ["app_one", "staging_two"]
    found = resolve_label("staging-app-one", seen, never)
    assert (found.environment, found.slug, found.app_id) == ("staging", "app-one", "app_one")
    found = resolve_label("app-one", seen, never)
    assert (found.environment, found.app_id) == ("production", "app_one")
    # No app has the slug "two": the whole label is the production slug of staging_two.
    found = resolve_label("staging-two", seen, never)
    assert (found.environment, found.app_id) == ("production", "staging_two")
    found = resolve_label("staging-nobody", seen, never)
    assert (found.environment, found.slug, found.app_id) == ("staging", "nobody", None)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("a/page.htm", "text/html; charset=utf-8"),
        ("app.mjs", "text/javascript; charset=utf-8"),
        ("app.js.map", "application/json"),
        ("font.woff2", "font/woff2"),
        ("photo.JPG", "image/jpeg"),
        ("pic.webp", "image/webp"),
        ("table.csv", "text/csv; charset=utf-8"),
        ("archive.tar.gz", "application/gzip"),
        ("LICENSE", "application/octet-stream"),
    ],
)
def test_content_types(path: str, kind: str) -> None:
    assert content_type(path) == kind


def test_the_injected_script_is_safe_against_any_value() -> None:
    script = mixpeek_globals_script("x</script><script>alert(1)</script>", "x", "production")
    text = script.decode()
    assert text.count("</script>") == 1 and text.endswith("</script>")
    assert "<!--" not in mixpeek_globals_script("<!--", "x", "staging").decode()
    value = json.loads(GLOBALS.findall(text)[0])
    assert value["appId"] == "x</script><script>alert(1)</script>"

    tag = b"<s>"
    assert inject(b'<HTML><HEAD lang="en"><title>', tag) == b'<HTML><HEAD lang="en"><s><title>'
    assert inject(b"<header>x</header>", tag) == b"<s><header>x</header>"
    assert inject(b"\xef\xbb\xbf<p>", tag) == b"\xef\xbb\xbf<s><p>"
    assert inject(b"<head/><p>", tag) == b"<head/><s><p>"
