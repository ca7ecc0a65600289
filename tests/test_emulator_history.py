"""The emulator's "apps, versions, recovery" calls: versions, diffs, downloads, restores, the
running app's request and runtime logs, and apps that cannot be read.

Everything goes over real HTTP: bundles are uploaded through upload-url and the presigned
PUT and deployed with the published calls (httpx), build logs are read from the SSE stream
and sites from the emulator's own server with the Host header a browser sends.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from httpx_sse import connect_sse

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.emulator.records import iso
from mixpeek_cli.emulator.sites import app_slug, site_url
from mixpeek_cli.emulator.smoke import SMOKE_USER_AGENT

BUILD_SECONDS = 0.1
API_KEY = "sk_test_history_secret"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
LOG_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}")
# The SDK's VersionRecord, the fields the emulator has.
VERSION_FIELDS = {
    "version",
    "asset_prefix",
    "asset_manifest",
    "deployed_by",
    "deployed_at",
    "environment",
    "build_duration_ms",
    "message",
    "source_files",
    "git_commit_sha",
    "git_commit_message",
    "git_author",
}

# Three versions of one site: v1 and v3 differ in every way a diff reports.
V1 = {
    "index.html": "<html><head></head><body>version one</body></html>",
    "assets/app.js": "go()\n",
    "old.txt": "gone in v3\n",
}
V2 = {"dist/index.html": "<html><head></head><body>version two</body></html>"}
V3 = {
    "index.html": "<html><head></head><body>version three!</body></html>",
    "assets/app.js": "go()\n",
    "new.css": "body {}\n",
}
SOURCE_V1 = {
    "src/app.ts": "const a = 1;\nconst b = 2;\nexport { a, b };\n",
    "src/gone.ts": "bye\n",
    "src/same.ts": "same\n",
    "api/hello.ts": "export default () => 'hi'",
}
SOURCE_V3 = {
    "src/app.ts": "const a = 1;\nconst b = 3;\nexport { a, b };\n",
    "src/same.ts": "same\n",
    "src/new.ts": "hello\r\nworld",
    "api/hello.ts": "export default () => 'hi there'\n",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_controls(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.state.configure(
        build_seconds=BUILD_SECONDS,
        fail_builds_with=None,
        smoke_test_errors=None,
        unknown_apps=None,
        client_s3_endpoint_url=None,
    )


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=10) as client:
        yield client


@pytest.fixture
def app_id() -> str:
    return f"app_{uuid.uuid4().hex[:10]}"


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def upload(api: httpx.Client, app_id: str, bundle: bytes) -> str:
    target = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "bundle.zip"})
    assert target.status_code == 200, target.text
    stored = httpx.put(
        target.json()["upload_url"], content=bundle, headers={"Content-Type": "application/zip"}
    )
    assert stored.status_code == 200, stored.text
    key: str = target.json()["bundle_s3_key"]
    return key


def wait_final(api: httpx.Client, app_id: str, deploy_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        answer: dict[str, Any] = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
        if answer["status"] in ("complete", "failed"):
            return answer
        assert time.monotonic() < deadline, f"deploy {deploy_id} never finished"
        time.sleep(0.02)


def ship(
    api: httpx.Client,
    app_id: str,
    files: dict[str, str],
    environment: str = "production",
    **body: Any,
) -> dict[str, Any]:
    """Upload a zip of ``files`` and deploy it; the final status, with its key."""
    key = upload(api, app_id, make_zip(files))
    created = api.post(
        f"/v1/apps/{app_id}/deploy",
        json={"message": "ship", "environment": environment, "bundle_s3_key": key, **body},
    )
    assert created.status_code == 200, created.text
    return wait_final(api, app_id, created.json()["deploy_id"])


def versions(api: httpx.Client, app_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/apps/{app_id}/versions")
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"versions", "total"}
    found: list[dict[str, Any]] = answer.json()["versions"]
    assert answer.json()["total"] == len(found)
    return found


def served(api: httpx.Client, app_id: str) -> dict[int, list[str]]:
    """Per version, the environments its detail says it is live in."""
    found = {}
    for listed in versions(api, app_id):
        detail = api.get(f"/v1/apps/{app_id}/versions/{listed['version']}").json()
        assert set(detail["is_active"]) == {"production", "staging"}
        found[listed["version"]] = [env for env, on in detail["is_active"].items() if on]
    return found


def stream_lines(api: httpx.Client, app_id: str, deploy_id: str) -> list[str]:
    lines: list[str] = []
    path = f"/v1/apps/{app_id}/deploys/{deploy_id}/logs/stream"
    with connect_sse(api, "GET", path) as source:
        for event in source.iter_sse():
            if event.event == "done":
                return lines
            lines.append(json.loads(event.data)["line"])
    raise AssertionError("the stream ended without done")


def site_get(emulator: Emulator, app_id: str, path: str, environment: str = "production") -> str:
    host = urlsplit(site_url(emulator.base_url, app_slug(app_id), environment)).netloc
    with httpx.Client(base_url=emulator.base_url, headers={"Host": host}, trust_env=False) as c:
        return c.get(path).text


def sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def expected_hash(files: dict[str, str]) -> str:
    lines = sorted(f"{path}\0{sha(content)}\n" for path, content in files.items())
    return sha("".join(lines))


def error_type(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["status"] == response.status_code
    kind: str = body["error"]["type"]
    return kind


def three_versions(api: httpx.Client, app_id: str) -> list[dict[str, Any]]:
    """v1 to production, v2 to staging, v3 to production; their final statuses."""
    git = {
        "git_commit_sha": "a" * 40,
        "git_commit_message": "first\n\nwith a body",
        "git_author": "Ada Lovelace <ada@example.com>",
    }
    first = ship(api, app_id, V1, message="one", source_files=SOURCE_V1, **git)
    second = ship(api, app_id, V2, "staging", message="two")
    third = ship(api, app_id, V3, message="three", source_files=SOURCE_V3)
    assert [d["status"] for d in (first, second, third)] == ["complete"] * 3
    return [first, second, third]


# -- versions -------------------------------------------------------------------------------


def test_each_complete_upload_deploy_is_a_version_newest_first(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    assert versions(api, app_id) == []
    _, second, third = three_versions(api, app_id)

    listed = versions(api, app_id)
    assert [v["version"] for v in listed] == [3, 2, 1]
    assert all(set(v) == VERSION_FIELDS for v in listed)
    v3, v2, v1 = listed
    # What each environment serves: the deploy that made the version.
    environments = api.get(f"/v1/apps/{app_id}").json()["environments"]
    assert environments == {
        "production": {
            "deploy_id": third["deploy_id"],
            "asset_prefix": f"app-assets/{app_id}/v3/",
            "version": 3,
        },
        "staging": {
            "deploy_id": second["deploy_id"],
            "asset_prefix": f"app-assets/{app_id}/v2/",
            "version": 2,
        },
    }
    assert [v["message"] for v in (v1, v2, v3)] == ["one", "two", "three"]
    assert [v["environment"] for v in (v1, v2, v3)] == ["production", "staging", "production"]
    # Served now: v3 replaced v1 in production, v2 is staging's.
    assert served(api, app_id) == {1: [], 2: ["staging"], 3: ["production"]}
    assert {v["deployed_by"] for v in listed} == {"emulator"}
    assert all(isinstance(v["build_duration_ms"], int) for v in listed)
    assert [v["asset_prefix"] for v in (v1, v2, v3)] == [
        f"app-assets/{app_id}/v{n}/" for n in (1, 2, 3)
    ]
    assert API_KEY not in json.dumps(listed)
    stamps = [datetime.fromisoformat(v["deployed_at"]) for v in (v1, v2, v3)]
    assert all(stamp.utcoffset() is not None for stamp in stamps)
    assert stamps == sorted(stamps)

    assert (v1["git_commit_sha"], v1["git_commit_message"], v1["git_author"]) == (
        "a" * 40,
        "first\n\nwith a body",
        "Ada Lovelace <ada@example.com>",
    )
    assert (v2["git_commit_sha"], v2["git_commit_message"], v2["git_author"]) == (None,) * 3
    assert [len(v["source_files"]) for v in (v1, v2, v3)] == [4, 0, 4]
    assert v1["source_files"] == SOURCE_V1

    # The manifest is the published site (v2's zip held a dist/ folder: stripped).
    prefix = f"app-assets/{app_id}/v1/"
    assert v1["asset_manifest"] == {
        path: {"s3_key": prefix + path, "hash": sha(V1[path]), "size": len(V1[path])} for path in V1
    }
    assert v2["asset_manifest"] == {
        "index.html": {
            "s3_key": f"app-assets/{app_id}/v2/index.html",
            "hash": sha(V2["dist/index.html"]),
            "size": 50,
        }
    }

    # The same files in another zip are the same manifest.
    again = ship(api, app_id, dict(reversed(list(V1.items()))), "staging", message="again")
    newest = versions(api, app_id)[0]
    assert {p: e["hash"] for p, e in newest["asset_manifest"].items()} == {
        p: e["hash"] for p, e in v1["asset_manifest"].items()
    }
    assert api.get(f"/v1/apps/{app_id}").json()["environments"]["staging"] == {
        "deploy_id": again["deploy_id"],
        "asset_prefix": f"app-assets/{app_id}/v4/",
        "version": 4,
    }
    assert served(api, app_id) == {4: ["staging"], 3: ["production"], 2: [], 1: []}


def test_git_and_failed_deploys_make_no_version(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, V1)
    git = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "git", "source": "git"})
    assert wait_final(api, app_id, git.json()["deploy_id"])["status"] == "complete"
    assert ship(api, app_id, {"main.py": "x"})["status"] == "failed"
    emulator.state.configure(fail_builds_with="out of disk")
    assert ship(api, app_id, V3)["status"] == "failed"
    assert served(api, app_id) == {1: ["production"]}


def test_the_version_calls_need_a_key_and_a_known_version(api: httpx.Client, app_id: str) -> None:
    ship(api, app_id, V1)
    with httpx.Client(base_url=str(api.base_url), timeout=10) as anonymous:
        assert anonymous.get(f"/v1/apps/{app_id}/versions").status_code == 403
    for path in (
        f"/v1/apps/{app_id}/versions/2/download",
        f"/v1/apps/{app_id}/versions/1/diff/2",
        f"/v1/apps/{app_id}/versions/0/diff/1",
        "/v1/apps/app_nobody/versions/1/download",
    ):
        answer = api.get(path)
        assert (answer.status_code, error_type(answer)) == (404, "NotFoundError"), path
    assert "Version 2 of app" in api.get(f"/v1/apps/{app_id}/versions/2/download").text
    for path in (
        f"/v1/apps/{app_id}/versions/one/download",
        f"/v1/apps/{app_id}/versions/1/diff/x",
    ):
        answer = api.get(path)
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["type"] == "int_parsing"


# -- diffs ----------------------------------------------------------------------------------


def test_a_diff_lists_every_file_and_patches_the_source(
    api: httpx.Client, app_id: str, tmp_path: Path
) -> None:
    three_versions(api, app_id)
    answer = api.get(f"/v1/apps/{app_id}/versions/1/diff/3")
    assert answer.status_code == 200, answer.text
    diff = answer.json()
    assert set(diff) == {"app_id", "from_version", "to_version", "files", "summary", "source_diff"}
    assert (diff["app_id"], diff["from_version"], diff["to_version"]) == (app_id, 1, 3)

    def entry(path: str, status: str) -> dict[str, Any]:
        old, new = V1.get(path), V3.get(path)
        return {
            "path": path,
            "status": status,
            "old_hash": sha(old) if old is not None else None,
            "new_hash": sha(new) if new is not None else None,
            "old_size": len(old) if old is not None else None,
            "new_size": len(new) if new is not None else None,
            "size_delta": len(new or "") - len(old or ""),
        }

    assert diff["files"] == [
        entry("assets/app.js", "unchanged"),
        entry("index.html", "modified"),
        entry("new.css", "added"),
        entry("old.txt", "removed"),
    ]
    assert diff["files"][1]["size_delta"] == len("three!") - len("one")
    assert diff["files"][3]["size_delta"] == -len(V1["old.txt"])
    assert diff["summary"] == {"added": 1, "removed": 1, "modified": 1, "unchanged": 1}

    patches = diff["source_diff"]
    assert sorted(patches) == ["api/hello.ts", "src/app.ts", "src/gone.ts", "src/new.ts"]
    assert patches["src/app.ts"] == "".join(
        difflib.unified_diff(
            SOURCE_V1["src/app.ts"].splitlines(keepends=True),
            SOURCE_V3["src/app.ts"].splitlines(keepends=True),
            fromfile="a/src/app.ts",
            tofile="b/src/app.ts",
        )
    )
    assert patches["src/app.ts"].startswith("--- a/src/app.ts\n+++ b/src/app.ts\n@@ ")
    assert "-const b = 2;\n+const b = 3;\n" in patches["src/app.ts"]
    assert patches["src/gone.ts"].endswith("@@ -1 +0,0 @@\n-bye\n")
    assert "\\ No newline at end of file\n" in patches["api/hello.ts"]

    # Every patch applies to v1's source and gives v3's: they are valid patches.
    for path, text in SOURCE_V1.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(text.encode())
    patch = tmp_path / "all.patch"
    patch.write_bytes("".join(patches.values()).encode())
    subprocess.run(["git", "apply", str(patch)], cwd=tmp_path, check=True)
    for path, text in SOURCE_V3.items():
        assert (tmp_path / path).read_bytes() == text.encode(), path
    # a/ and b/ headers on both sides (no /dev/null): a removed file's patch empties it.
    assert (tmp_path / "src/gone.ts").read_bytes() == b""

    # Against a version without source files: no source_diff at all.
    no_source = api.get(f"/v1/apps/{app_id}/versions/1/diff/2").json()
    assert "source_diff" not in no_source
    assert no_source["summary"] == {"added": 0, "removed": 2, "modified": 1, "unchanged": 0}
    assert "source_diff" not in api.get(f"/v1/apps/{app_id}/versions/2/diff/3").json()
    # A version against itself: nothing changed.
    same = api.get(f"/v1/apps/{app_id}/versions/3/diff/3").json()
    assert same["summary"] == {"added": 0, "removed": 0, "modified": 0, "unchanged": 3}
    assert same["source_diff"] == {}
    # Backwards works too.
    back = api.get(f"/v1/apps/{app_id}/versions/3/diff/1").json()
    assert [f["status"] for f in back["files"]] == ["unchanged", "modified", "removed", "added"]


# -- downloads ------------------------------------------------------------------------------


def test_a_download_url_gets_the_exact_zip_of_that_version(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    zips = [make_zip(V1), make_zip(V2)]
    for number, bundle in enumerate(zips, start=1):
        key = upload(api, app_id, bundle)
        created = api.post(
            f"/v1/apps/{app_id}/deploy", json={"message": f"v{number}", "bundle_s3_key": key}
        ).json()
        assert wait_final(api, app_id, created["deploy_id"])["status"] == "complete"

    for number, bundle in enumerate(zips, start=1):
        answer = api.get(f"/v1/apps/{app_id}/versions/{number}/download")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"download_url", "version", "asset_prefix", "expires_in"}
        assert (body["version"], body["expires_in"]) == (number, 3600)
        assert body["asset_prefix"] == f"app-assets/{app_id}/v{number}/"
        url = body["download_url"]
        assert url.startswith(f"{emulator.s3_endpoint_url}/{emulator.bucket}/app-builds/{app_id}/")
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Expires"] == ["3600"]
        fetched = httpx.get(url)  # plain HTTP, no AWS library, no key
        assert fetched.status_code == 200
        assert fetched.content == bundle

    # Signed for the endpoint clients are told to use, as upload URLs are.
    emulator.state.configure(client_s3_endpoint_url="http://127.0.0.1:9")
    moved = api.get(f"/v1/apps/{app_id}/versions/1/download").json()["download_url"]
    assert moved.startswith(f"http://127.0.0.1:9/{emulator.bucket}/")

    # A bundle deleted from S3: the URL is still handed out, S3 answers 404.
    emulator.state.configure(client_s3_endpoint_url=None)
    gone = api.get(f"/v1/apps/{app_id}/versions/2/download").json()["download_url"]
    key = urlsplit(gone).path.split("/", 2)[2]
    emulator.s3_client().delete_object(Bucket=emulator.bucket, Key=key)
    assert httpx.get(gone).status_code == 404


# -- restores -------------------------------------------------------------------------------


def test_a_restore_is_a_quick_deploy_that_serves_the_old_version_again(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    made = three_versions(api, app_id)
    assert "version three!" in site_get(emulator, app_id, "/")
    # A restore never takes the time a build takes.
    emulator.state.configure(build_seconds=5)
    asked = time.monotonic()
    key = {"Idempotency-Key": f"restore-{app_id}"}
    answer = api.post(
        f"/v1/apps/{app_id}/versions/1/restore", json={"environment": "production"}, headers=key
    )
    assert answer.status_code == 200, answer.text
    restore = answer.json()
    assert set(restore) == {"app_id", "version", "deploy_id", "environment", "asset_prefix"}
    assert (restore["app_id"], restore["version"], restore["environment"]) == (
        app_id,
        1,
        "production",
    )
    assert restore["asset_prefix"] == f"app-assets/{app_id}/v1/"
    assert restore["deploy_id"] not in {d["deploy_id"] for d in made}

    lines = stream_lines(api, app_id, restore["deploy_id"])
    assert lines == [
        f"Restoring version 1 (content {expected_hash(V1)[:12]})...",
        "Publishing 3 assets...",
        "Deploy complete!",
    ]
    final = wait_final(api, app_id, restore["deploy_id"])
    assert time.monotonic() - asked < 2.5
    assert final["status"] == "complete"
    assert (final["source"], final["environment"], final["error"]) == (
        "cli_upload",
        "production",
        None,
    )
    assert (
        final["bundle_s3_key"]
        == emulator.state.deploy_request(made[0]["deploy_id"])["bundle_s3_key"]
    )
    assert final["smoke_test"]["passed"] is True
    assert final["smoke_test"]["url"] == site_url(emulator.base_url, app_slug(app_id), "production")

    # Production serves v1 again; no new version; environments moved.
    assert "version one" in site_get(emulator, app_id, "/")
    assert "version two" in site_get(emulator, app_id, "/", "staging")
    assert served(api, app_id) == {3: [], 2: ["staging"], 1: ["production"]}

    # The same key and body again: the stored answer, no second restore.
    deploys_before = len(emulator.state.deploys(app_id))
    repeat = api.post(f"/v1/apps/{app_id}/versions/1/restore", json={}, headers=key)
    assert repeat.json() == restore
    assert len(emulator.state.deploys(app_id)) == deploys_before
    other = api.post(
        f"/v1/apps/{app_id}/versions/2/restore", json={"environment": "production"}, headers=key
    )
    assert (other.status_code, error_type(other)) == (422, "IdempotencyError")

    # No body at all is production; staging takes the version too.
    bare = api.post(f"/v1/apps/{app_id}/versions/3/restore")
    assert bare.json()["environment"] == "production"
    assert wait_final(api, app_id, bare.json()["deploy_id"])["status"] == "complete"
    to_staging = api.post(f"/v1/apps/{app_id}/versions/3/restore", json={"environment": "staging"})
    assert wait_final(api, app_id, to_staging.json()["deploy_id"])["status"] == "complete"
    assert served(api, app_id) == {3: ["production", "staging"], 2: [], 1: []}
    assert "version three!" in site_get(emulator, app_id, "/", "staging")


def test_a_restore_of_an_unknown_version_or_told_to_fail_changes_nothing(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, V1)
    ship(api, app_id, V3)
    deploys_before = len(emulator.state.deploys(app_id))
    for number in (3, 0, -1):
        missing = api.post(f"/v1/apps/{app_id}/versions/{number}/restore", json={})
        assert (missing.status_code, error_type(missing)) == (404, "NotFoundError")
    assert len(emulator.state.deploys(app_id)) == deploys_before
    bad = api.post(f"/v1/apps/{app_id}/versions/1/restore", json={"environment": "dev"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "environment"]

    emulator.state.configure(fail_builds_with="restore refused")
    failed = api.post(f"/v1/apps/{app_id}/versions/1/restore", json={}).json()
    final = wait_final(api, app_id, failed["deploy_id"])
    assert (final["status"], final["error"], final["smoke_test"]) == (
        "failed",
        "restore refused",
        None,
    )
    assert emulator.state.deploy_log(failed["deploy_id"])[-1] == "Deploy failed: restore refused"
    assert "version three!" in site_get(emulator, app_id, "/")
    assert served(api, app_id) == {2: ["production"], 1: []}


# -- app logs -------------------------------------------------------------------------------


def logs(api: httpx.Client, app_id: str, **params: Any) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/apps/{app_id}/logs", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"app_id", "log_type", "results", "entries"}
    assert (body["app_id"], body["log_type"]) == (app_id, params.get("log_type", "runtime"))
    # "entries" is the SDK's deprecated alias of "results": the same list.
    assert body["entries"] == body["results"]
    entries: list[dict[str, Any]] = body["results"]
    return entries


def test_request_logs_are_the_site_requests_newest_first(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, V1)
    ship(api, app_id, V2, "staging")
    site_get(emulator, app_id, "/about")
    site_get(emulator, app_id, "/missing.png")
    site_get(emulator, app_id, "/assets/app.js", "staging")

    entries = logs(api, app_id, log_type="requests")
    assert all(
        set(e)
        == {
            "timestamp",
            "method",
            "path",
            "status_code",
            "duration_ms",
            "user_agent",
            "ip",
            "environment",
        }
        for e in entries
    )
    # The smoke tests' GETs are site requests too.
    assert [(e["method"], e["path"], e["status_code"], e["environment"]) for e in entries] == [
        ("GET", "/assets/app.js", 404, "staging"),
        ("GET", "/missing.png", 404, "production"),
        ("GET", "/about", 200, "production"),
        ("GET", "/", 200, "staging"),
        ("GET", "/", 200, "production"),
    ]
    assert [e["user_agent"] for e in entries][3:] == [SMOKE_USER_AGENT] * 2
    assert entries[0]["user_agent"].startswith("python-httpx/")
    assert {e["ip"] for e in entries} == {"127.0.0.1"}
    assert all(LOG_TIME.fullmatch(e["timestamp"]) for e in entries)
    assert [e["timestamp"] for e in entries] == sorted(
        (e["timestamp"] for e in entries), reverse=True
    )
    newest = datetime.strptime(entries[0]["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    assert abs(newest.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(
        minutes=1
    )
    assert all(isinstance(e["duration_ms"], float) for e in entries)

    assert logs(api, app_id, log_type="requests", limit=2) == entries[:2]
    # Only those of the last `hours`: a request two hours old shows from hours=3 on.
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    emulator.state.record_site_request(
        {
            "method": "GET",
            "path": "/old",
            "status": 200,
            "duration_ms": 1.0,
            "user_agent": "old-browser",
            "timestamp": iso(old),
            "environment": "production",
            "app_id": app_id,
        }
    )
    assert logs(api, app_id, log_type="requests", hours=1) == entries
    with_old = logs(api, app_id, log_type="requests", hours=3, limit=1000)
    assert with_old[:-1] == entries and with_old[-1]["path"] == "/old"
    assert logs(api, app_id, log_type="requests", hours=168)[-1]["path"] == "/old"
    # Another app's requests are not this app's; the level filter is for runtime entries.
    assert logs(api, f"{app_id}_other", log_type="requests") == []
    assert logs(api, app_id, log_type="requests", level="error") == entries


def test_runtime_logs_hold_function_calls_and_what_tests_add(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    functions = {
        "api/hello.ts": "export default async (ctx: any) => {\n"
        "  console.log('hello from', ctx.req.path);\n  return { body: 'hi' };\n}\n",
        "api/users/list.js": "export default async () => { throw new Error('no users'); };\n",
    }
    ship(api, app_id, V1, source_files=functions)
    assert logs(api, app_id) == []
    host = urlsplit(site_url(emulator.base_url, app_slug(app_id), "production")).netloc
    with httpx.Client(base_url=emulator.base_url, headers={"Host": host}) as site:
        assert site.get("/functions/hello").text == "hi"
        assert site.post("/functions/users/list", json={}).status_code == 500
        assert site.get("/functions/missing").status_code == 404  # nothing ran: no entry

    [thrown, said] = logs(api, app_id)
    assert set(said) == {"timestamp", "level", "message", "route_path", "request_id"}
    assert (said["level"], said["message"], said["route_path"]) == (
        "log",
        "hello from /functions/hello",
        "hello",
    )
    # What the throw printed: its stack, at its source's line.
    assert (thrown["level"], thrown["route_path"]) == ("error", "users/list")
    assert thrown["message"].startswith("Error: no users\n")
    assert "api/users/list.js:1" in thrown["message"]
    assert re.fullmatch(r"req_[0-9a-f]{16}", said["request_id"])
    assert said["request_id"] != thrown["request_id"]
    assert LOG_TIME.fullmatch(said["timestamp"])

    added = [
        control.post(
            "/runtime-logs",
            json={"app_id": app_id, "level": level, "message": f"{level} line", "route_path": "x"},
        )
        for level in ("log", "warn", "info", "error")
    ]
    assert [a.status_code for a in added] == [200] * 4
    assert set(added[0].json()) == {
        "app_id",
        "timestamp",
        "level",
        "message",
        "route_path",
        "request_id",
    }
    entries = logs(api, app_id, log_type="runtime")
    assert [e["message"] for e in entries] == [
        "error line",
        "info line",
        "warn line",
        "log line",
        thrown["message"],
        said["message"],
    ]
    assert entries[0] == {k: v for k, v in added[3].json().items() if k != "app_id"}
    assert [e["message"] for e in logs(api, app_id, level="error")] == [
        "error line",
        thrown["message"],
    ]
    assert [e["message"] for e in logs(api, app_id, level="warn")] == ["warn line"]
    assert logs(api, app_id, limit=2) == entries[:2]

    # In Python too, and aged on request: two hours ago shows only from hours=3 on.
    old = emulator.state.add_runtime_log(
        app_id, "warn", "old", "cron", timestamp=datetime.now(timezone.utc) - timedelta(hours=2)
    )
    assert logs(api, app_id) == entries
    assert logs(api, app_id, hours=3)[-1]["request_id"] == old.request_id
    aged = control.post(
        "/runtime-logs",
        json={
            "app_id": app_id,
            "level": "info",
            "message": "older",
            "timestamp": iso(datetime.now(timezone.utc) - timedelta(hours=5)),
        },
    ).json()
    assert aged["route_path"] is None
    assert [e["message"] for e in logs(api, app_id, hours=6)][-2:] == ["old", "older"]
    assert [e["app_id"] for e in control.get("/runtime-logs").json()].count(app_id) == 8

    for bad in (
        {"app_id": app_id, "level": "debug", "message": "m"},
        {"app_id": app_id, "message": "m", "timestamp": "2024-01-01T00:00:00"},
        {"app_id": app_id, "message": "m", "extra": 1},
        {"level": "log", "message": "m"},
    ):
        assert control.post("/runtime-logs", json=bad).status_code == 422, bad


def test_log_params_out_of_range_are_422(api: httpx.Client, app_id: str) -> None:
    for params in (
        {"log_type": "build"},
        {"hours": 0},
        {"hours": 169},
        {"limit": 0},
        {"limit": 1001},
        {"level": "debug"},
        {"hours": "soon"},
    ):
        answer = api.get(f"/v1/apps/{app_id}/logs", params=params)
        assert answer.status_code == 422, params
        [name] = params
        assert answer.json()["detail"][0]["loc"] == ["query", name]
    good: list[dict[str, Any]] = [
        {"hours": 168, "limit": 1000},
        {"hours": 1, "limit": 1, "level": "log", "log_type": "runtime"},
    ]
    for fine in good:
        assert api.get(f"/v1/apps/{app_id}/logs", params=fine).status_code == 200


def test_clearing_requests_empties_both_logs(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    ship(api, app_id, V1)
    emulator.state.add_runtime_log(app_id, "error", "boom", "hello")
    site_get(emulator, app_id, "/")
    assert logs(api, app_id) and logs(api, app_id, log_type="requests")
    assert control.delete("/runtime-logs").json() == {"runtime_logs": []}
    assert logs(api, app_id) == []
    emulator.state.add_runtime_log(app_id, "error", "boom", "hello")
    site_get(emulator, app_id, "/")
    assert control.delete("/requests").status_code == 200
    assert logs(api, app_id) == logs(api, app_id, log_type="requests") == []


# -- apps -----------------------------------------------------------------------------------


def test_unknown_apps_cannot_be_read(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    missing = f"{app_id}_missing"
    assert api.get(f"/v1/apps/{missing}").status_code == 200
    config = control.post("/config", json={"unknown_apps": [missing]}).json()
    assert config["unknown_apps"] == [missing]

    answer = api.get(f"/v1/apps/{missing}")
    assert (answer.status_code, error_type(answer)) == (404, "NotFoundError")
    assert answer.json()["error"]["message"] == f"App {missing} not found"
    listed = api.get("/v1/apps", params={"limit": 1000}).json()["results"]
    assert missing not in {a["app_id"] for a in listed}
    assert all({"app_id", "slug", "url", "meta", "environments"} <= set(a) for a in listed)
    assert all(a["meta"]["title"] and a["slug"] for a in listed)

    # Everything else about it still works: only the app read fails.
    assert ship(api, missing, V1)["status"] == "complete"
    assert [v["version"] for v in versions(api, missing)] == [1]
    assert api.get(f"/v1/apps/{app_id}").json()["slug"] == app_slug(app_id)

    assert control.post("/config", json={"unknown_apps": None}).json()["unknown_apps"] is None
    assert api.get(f"/v1/apps/{missing}").status_code == 200
