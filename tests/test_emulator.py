"""The emulator, exercised over real HTTP (httpx, httpx-sse) and real S3 calls (moto)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from httpx_sse import connect_sse

from mixpeek_cli.emulator import Emulator, EmulatorConfig, EmulatorState
from mixpeek_cli.emulator.sites import app_slug, site_url

BUILD_SECONDS = 0.3
AUTH = {"Authorization": "Bearer sk_test_123"}
STAGE_LINES = [
    "Downloading bundle from S3...",
    "Extracting bundle...",
    "Validating bundle (index.html, size)...",
]
STATUS_FIELDS = {
    "deploy_id",
    "status",
    "environment",
    "source",
    "bundle_s3_key",
    "message",
    "queued_at",
    "queued_by",
    "error",
    "smoke_test",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_controls(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.state.configure(**dataclasses.asdict(EmulatorConfig(build_seconds=BUILD_SECONDS)))
    emulator.state.clear_faults()


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
    # A fresh app per test keeps each test's deploys and keys apart.
    return f"app_{uuid.uuid4().hex[:10]}"


def make_zip(files: dict[str, str], dirs: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name in dirs:
            bundle.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), "")
        for name, text in files.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


SITE = make_zip({"index.html": "<h1>hi</h1>", "assets/app.js": "go()", "assets/app.css": ""})


def upload_url(api: httpx.Client, app_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(
        f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "bundle.zip", **body}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def put(url: str, data: bytes, content_type: str | None = "application/zip") -> httpx.Response:
    """The S3 PUT a client makes: plain HTTP, no AWS library, no Authorization."""
    headers = {"Content-Type": content_type} if content_type else {}
    return httpx.put(url, content=data, headers=headers)


def upload(api: httpx.Client, app_id: str, data: bytes) -> str:
    """Upload through the API the way a client does; returns the bundle key."""
    target = upload_url(api, app_id)
    stored = put(target["upload_url"], data)
    assert stored.status_code == 200, stored.text
    key: str = target["bundle_s3_key"]
    return key


def verify(api: httpx.Client, app_id: str, key: str) -> httpx.Response:
    return api.post(f"/v1/apps/{app_id}/deploy/verify-upload", json={"bundle_s3_key": key})


def deploy(api: httpx.Client, app_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "ship it", **body})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def status(api: httpx.Client, app_id: str, deploy_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def wait_final(api: httpx.Client, app_id: str, deploy_id: str) -> dict[str, Any]:
    answers: list[dict[str, Any]] = []

    def final() -> bool:
        answers.append(status(api, app_id, deploy_id))
        return answers[-1]["status"] in ("complete", "failed")

    wait_for(final, f"deploy {deploy_id} to finish")
    return answers[-1]


def stream_url(app_id: str, deploy_id: str) -> str:
    return f"/v1/apps/{app_id}/deploys/{deploy_id}/logs/stream"


def read_stream(api: httpx.Client, app_id: str, deploy_id: str) -> list[tuple[str, str]]:
    """Every (event, data) of one stream connection, until the server ends it."""
    with connect_sse(api, "GET", stream_url(app_id, deploy_id)) as source:
        assert source.response.status_code == 200
        return [(event.event, event.data) for event in source.iter_sse()]


def lines_of(events: list[tuple[str, str]]) -> list[str]:
    return [json.loads(data)["line"] for name, data in events if name == "message"]


def bundle_key(app_id: str) -> str:
    return f"app-builds/{app_id}/{uuid.uuid4().hex}/bundle.zip"


# -- auth ---------------------------------------------------------------------------------


def test_v1_requires_a_bearer_key(emulator: Emulator, control: httpx.Client) -> None:
    url = f"{emulator.base_url}/v1/apps/app_1"
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearersk_test_123"},
        {"Authorization": "Basic abc"},
    ):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 403
        assert response.json() == {
            "success": False,
            "status": 403,
            "error": {
                "message": response.json()["error"]["message"],
                "type": "UnauthorizedError",
                "details": None,
            },
        }
    assert httpx.get(url, headers=AUTH).status_code == 200
    assert control.get("/config").status_code == 200


def test_api_keys_limits_the_accepted_keys(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    assert control.post("/config", json={"api_keys": ["sk_good"]}).json()["api_keys"] == ["sk_good"]
    refused = api.get(f"/v1/apps/{app_id}")
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "UnauthorizedError"
    good = {"Authorization": "Bearer sk_good"}
    assert api.get(f"/v1/apps/{app_id}", headers=good).status_code == 200
    assert control.post("/config", json={"api_keys": None}).json()["api_keys"] is None
    assert api.get(f"/v1/apps/{app_id}").status_code == 200


# -- upload-url, the PUT, verify-upload ------------------------------------------------------


def test_upload_url_answer_and_a_fresh_key_per_call(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    first = upload_url(api, app_id, filename="my-app.zip", content_type="application/zip")
    assert set(first) == {"upload_url", "bundle_s3_key", "expires_in"}
    assert re.fullmatch(rf"app-builds/{app_id}/[0-9a-f]{{32}}/my-app\.zip", first["bundle_s3_key"])
    assert first["expires_in"] == 3600
    url = urlsplit(first["upload_url"])
    assert first["upload_url"].startswith(f"{emulator.s3_endpoint_url}/{emulator.bucket}/")
    assert url.path.endswith("/" + first["bundle_s3_key"])
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    assert "content-type" in query["X-Amz-SignedHeaders"][0].split(";")

    second = upload_url(api, app_id, filename="my-app.zip")
    assert second["bundle_s3_key"] != first["bundle_s3_key"]
    assert second["upload_url"] != first["upload_url"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"filename": ""},
        {"filename": "a/b.zip"},
        {"filename": "a\\b.zip"},
        {"filename": ".."},
        {"filename": "x" * 256},
    ],
    ids=["missing", "empty", "slash", "backslash", "dotdot", "too-long"],
)
def test_upload_url_needs_a_plain_filename(
    api: httpx.Client, app_id: str, body: dict[str, Any]
) -> None:
    response = api.post(f"/v1/apps/{app_id}/deploy/upload-url", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "filename"]


def test_presigned_put_lands_in_s3_and_verify_upload_reports_it(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    target = upload_url(api, app_id)
    key = target["bundle_s3_key"]
    assert verify(api, app_id, key).json() == {
        "bundle_s3_key": key,
        "exists": False,
        "etag": None,
        "size_bytes": None,
        "last_modified": None,
    }

    stored = put(target["upload_url"], SITE)
    assert stored.status_code == 200, stored.text
    md5 = hashlib.md5(SITE).hexdigest()
    assert stored.headers["ETag"] == f'"{md5}"'
    assert emulator.s3_client().get_object(Bucket=emulator.bucket, Key=key)["Body"].read() == SITE

    answer = verify(api, app_id, key)
    assert answer.status_code == 200
    found = answer.json()
    assert set(found) == {"bundle_s3_key", "exists", "etag", "size_bytes", "last_modified"}
    assert found["bundle_s3_key"] == key
    assert found["exists"] is True
    assert found["etag"] == f'"{md5}"'
    assert found["size_bytes"] == len(SITE)
    assert datetime.fromisoformat(found["last_modified"]).utcoffset() is not None


def test_verify_upload_refuses_keys_outside_the_app(api: httpx.Client, app_id: str) -> None:
    for key in (
        "app-builds/other_app/t/bundle.zip",
        f"app-builds/{app_id}x/t/bundle.zip",
        "bundle.zip",
    ):
        response = verify(api, app_id, key)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "BadRequestError"


def test_content_type_is_part_of_the_signature(api: httpx.Client, app_id: str) -> None:
    target = upload_url(api, app_id)
    for content_type in ("application/octet-stream", None):
        refused = put(target["upload_url"], SITE, content_type)
        assert refused.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert verify(api, app_id, target["bundle_s3_key"]).json()["exists"] is False
    assert put(target["upload_url"], SITE).status_code == 200

    other = upload_url(api, app_id, content_type="application/x-zip-compressed")
    assert put(other["upload_url"], SITE, "application/zip").status_code == 403
    assert put(other["upload_url"], SITE, "application/x-zip-compressed").status_code == 200


def test_broken_url_controls_refuse_the_next_urls(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    control.post("/config", json={"expired_urls": 1, "bad_signature_urls": 1})
    expired, bad, fine = (upload_url(api, app_id) for _ in range(3))
    assert emulator.state.config.expired_urls == emulator.state.config.bad_signature_urls == 0

    first = put(expired["upload_url"], SITE)
    assert first.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in first.text
    second = put(bad["upload_url"], SITE)
    assert second.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in second.text
    assert put(fine["upload_url"], SITE).status_code == 200


def test_presigned_urls_really_expire(emulator: Emulator, api: httpx.Client, app_id: str) -> None:
    emulator.state.configure(upload_url_seconds=1)
    target = upload_url(api, app_id)
    assert target["expires_in"] == 1
    assert parse_qs(urlsplit(target["upload_url"]).query)["X-Amz-Expires"] == ["1"]
    # X-Amz-Date has whole seconds: past 2 s the URL is expired whenever it was signed.
    time.sleep(2.1)
    refused = put(target["upload_url"], SITE)
    assert refused.status_code == 403
    assert "Request has expired" in refused.text


# -- deploys and builds -------------------------------------------------------------------


def test_deploy_goes_queued_building_complete_with_the_published_lines(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    # Long enough that a loaded machine still sees "building" between polls.
    emulator.state.configure(build_seconds=0.8)
    key = upload(api, app_id, SITE)
    created = deploy(api, app_id, bundle_s3_key=key, environment="staging")
    assert created == {
        "app_id": app_id,
        "deploy_id": created["deploy_id"],
        "status": "queued",
        "environment": "staging",
        "message": "ship it",
    }
    deploy_id = created["deploy_id"]
    assert re.fullmatch(r"dep_[0-9a-f]{16}", deploy_id)

    statuses: list[str] = []

    def final() -> bool:
        answer = status(api, app_id, deploy_id)
        assert set(answer) == STATUS_FIELDS
        if not statuses or statuses[-1] != answer["status"]:
            statuses.append(answer["status"])
        return answer["status"] in ("complete", "failed")

    wait_for(final, "the deploy to finish")
    assert statuses == ["queued", "building", "complete"]

    answer = status(api, app_id, deploy_id)
    assert answer["environment"] == "staging"
    assert answer["source"] == "cli_upload"
    assert answer["bundle_s3_key"] == key
    assert answer["message"] == "ship it"
    assert answer["queued_by"] == "emulator"
    assert answer["error"] is None
    assert datetime.fromisoformat(answer["queued_at"]).utcoffset() is not None
    smoke = answer["smoke_test"]
    assert set(smoke) == {"passed", "url", "errors", "duration_ms", "tested_at"}
    port = urlsplit(emulator.base_url).port
    assert smoke["url"] == f"http://staging-{app_slug(app_id)}.localhost:{port}"
    assert (smoke["passed"], smoke["errors"]) == (True, [])
    assert isinstance(smoke["duration_ms"], int)  # an int in the SDK's SmokeTestResult
    assert datetime.fromisoformat(smoke["tested_at"]).utcoffset() is not None
    assert "sk_test_123" not in json.dumps(answer)

    expected = [*STAGE_LINES, "Uploading 3 assets to S3...", "Deploy complete!"]
    assert emulator.state.deploy_log(deploy_id) == expected
    [mine] = emulator.state.deploys(app_id)
    assert (mine.deploy_id, mine.status, mine.environment) == (deploy_id, "complete", "staging")


def test_smoke_test_errors_make_a_failed_smoke_test_on_a_complete_deploy(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    control.post("/config", json={"smoke_test_errors": ["GET / answered 500"]})
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    answer = wait_final(api, app_id, created["deploy_id"])
    assert answer["status"] == "complete"
    assert answer["error"] is None
    assert answer["smoke_test"]["passed"] is False
    assert answer["smoke_test"]["errors"] == ["GET / answered 500"]
    port = urlsplit(emulator.base_url).port
    assert answer["smoke_test"]["url"] == f"http://{app_slug(app_id)}.localhost:{port}"
    assert (
        control.post("/config", json={"smoke_test_errors": None}).json()["smoke_test_errors"]
        is None
    )


def _corrupt_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("index.html", "A" * 64)
    return buffer.getvalue().replace(b"A" * 64, b"B" * 64)


@pytest.mark.parametrize(
    ("bundle", "reason", "stages"),
    [
        (b"this is not a zip", "bundle is not a valid zip archive", 2),
        (_corrupt_zip(), "bundle is corrupt: bad CRC for index.html", 2),
        (make_zip({}, dirs=("dist", "dist/js")), "bundle holds no files", 2),
        (
            make_zip({"README.md": "", "src/main.py": ""}),
            "Bundle has no index.html at its root or in a single top-level folder "
            "(found 1 file at the root: README.md and 1 top-level folder: src/)",
            3,
        ),
        (
            make_zip({"index.html": "", "MIXPEEK_FAIL_BUILD": "  Asset too large: a.mp4\n"}),
            "Asset too large: a.mp4",
            4,
        ),
    ],
    ids=["not-a-zip", "corrupt", "only-directories", "no-index-html", "fail-marker"],
)
def test_bad_bundles_fail_the_build(
    emulator: Emulator, api: httpx.Client, app_id: str, bundle: bytes, reason: str, stages: int
) -> None:
    key = bundle_key(app_id)
    emulator.s3_client().put_object(Bucket=emulator.bucket, Key=key, Body=bundle)
    created = deploy(api, app_id, bundle_s3_key=key)
    answer = wait_final(api, app_id, created["deploy_id"])
    assert (answer["status"], answer["error"], answer["smoke_test"]) == ("failed", reason, None)
    lines = emulator.state.deploy_log(created["deploy_id"])
    assert lines[:-1] == [*STAGE_LINES, "Uploading 2 assets to S3..."][:stages]
    assert lines[-1] == f"Deploy failed: {reason}"


def test_missing_bundle_fails_with_a_reason(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    key = bundle_key(app_id)
    created = deploy(api, app_id, bundle_s3_key=key)
    answer = wait_final(api, app_id, created["deploy_id"])
    reason = f"bundle not found: s3://{emulator.bucket}/{key}"
    assert (answer["status"], answer["error"]) == ("failed", reason)
    assert lines_of(read_stream(api, app_id, created["deploy_id"])) == [
        "Downloading bundle from S3...",
        f"Deploy failed: {reason}",
    ]


def test_fail_builds_with_setting(api: httpx.Client, control: httpx.Client, app_id: str) -> None:
    control.post("/config", json={"fail_builds_with": "out of disk"})
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    answer = wait_final(api, app_id, created["deploy_id"])
    assert (answer["status"], answer["error"]) == ("failed", "out of disk")
    assert lines_of(read_stream(api, app_id, created["deploy_id"]))[-1] == (
        "Deploy failed: out of disk"
    )
    cleared = control.post("/config", json={"fail_builds_with": None})
    assert cleared.json()["fail_builds_with"] is None


def test_git_source_builds_without_reading_s3(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    emulator.state.clear_requests()
    sha = "a" * 40
    created = deploy(api, app_id, source="git", git_commit_sha=sha)
    answer = wait_final(api, app_id, created["deploy_id"])
    assert (answer["status"], answer["source"], answer["bundle_s3_key"]) == (
        "complete",
        "git",
        None,
    )
    lines = emulator.state.deploy_log(created["deploy_id"])
    assert sha in lines[0] and "S3" in lines[0]
    assert lines[-1] == "Deploy complete!"
    assert emulator.state.s3_requests == []


def test_deploy_validation_errors_are_422(api: httpx.Client, app_id: str) -> None:
    # No message is the SDK model's default message, not an error.
    missing = api.post(f"/v1/apps/{app_id}/deploy", json={"bundle_s3_key": "k"})
    assert missing.status_code == 200, missing.text
    assert missing.json()["message"] == "Deploy via bundle upload"
    untyped = api.post(f"/v1/apps/{app_id}/deploy", json={"message": 1, "bundle_s3_key": "k"})
    assert untyped.status_code == 422
    [error] = untyped.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "message"], "string_type")

    wrong_env = api.post(
        f"/v1/apps/{app_id}/deploy", json={"message": "m", "bundle_s3_key": "k", "environment": "x"}
    )
    assert wrong_env.status_code == 422
    assert wrong_env.json()["detail"][0]["loc"] == ["body", "environment"]

    no_bundle = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "m"})
    assert no_bundle.status_code == 422
    assert "bundle_s3_key" in no_bundle.json()["detail"][0]["msg"]


def test_unknown_deploy_is_404(api: httpx.Client, app_id: str) -> None:
    theirs = deploy(api, f"other_{app_id}", source="git")["deploy_id"]
    for deploy_id in ("dep_0000000000000000", theirs):
        for path in (f"/v1/apps/{app_id}/deploys/{deploy_id}", stream_url(app_id, deploy_id)):
            response = api.get(path)
            assert response.status_code == 404
            assert response.json()["error"]["type"] == "NotFoundError"


# -- the log stream -------------------------------------------------------------------------


def test_log_stream_catches_up_then_follows_live_then_says_done(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    emulator.state.configure(build_seconds=0.8)
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    deploy_id = created["deploy_id"]
    wait_for(lambda: len(emulator.state.deploy_log(deploy_id)) >= 1, "the first log line")
    assert status(api, app_id, deploy_id)["status"] == "building"

    received: list[tuple[str, str, float]] = []
    with connect_sse(api, "GET", stream_url(app_id, deploy_id)) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        for event in source.iter_sse():
            received.append((event.event, event.data, time.time()))

    names = [name for name, _, _ in received]
    assert names == ["message"] * 5 + ["done"]
    assert received[-1][1] == "{}"
    entries = [json.loads(data) for name, data, _ in received if name == "message"]
    assert all(set(entry) == {"ts", "line"} for entry in entries)
    assert [entry["line"] for entry in entries] == emulator.state.deploy_log(deploy_id)
    assert entries[0]["line"] == "Downloading bundle from S3..."  # caught up
    assert entries[-1]["line"] == "Deploy complete!"  # followed live to the end
    stamps = [entry["ts"] for entry in entries]
    assert stamps == sorted(stamps) and all(isinstance(ts, float) for ts in stamps)
    # Live lines arrive as they are written, and done right after the last one.
    assert all(
        arrived - entry["ts"] < 0.5
        for entry, (_, _, arrived) in zip(entries[1:], received[1:-1], strict=True)
    )
    assert received[-1][2] - entries[-1]["ts"] < 0.5


def test_a_stream_from_before_the_first_line_and_reconnects_get_every_line(
    api: httpx.Client, app_id: str
) -> None:
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    first = read_stream(api, app_id, created["deploy_id"])
    assert lines_of(first) == [*STAGE_LINES, "Uploading 3 assets to S3...", "Deploy complete!"]
    assert first[-1] == ("done", "{}")
    # No ids, no offset: each connection replays the whole log, then done.
    assert read_stream(api, app_id, created["deploy_id"]) == first
    assert read_stream(api, app_id, created["deploy_id"]) == first


def test_stream_disabled_answers_404(api: httpx.Client, control: httpx.Client, app_id: str) -> None:
    created = deploy(api, app_id, source="git")
    control.post("/config", json={"stream_enabled": False})
    response = api.get(stream_url(app_id, created["deploy_id"]))
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFoundError"
    assert status(api, app_id, created["deploy_id"])["status"] in ("queued", "building", "complete")


def test_stream_cut_after_closes_connections_without_done(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    wait_final(api, app_id, created["deploy_id"])
    every = read_stream(api, app_id, created["deploy_id"])

    control.post("/config", json={"stream_cut_after": 2, "stream_cuts": 2})
    assert read_stream(api, app_id, created["deploy_id"]) == every[:2]
    assert emulator.state.config.stream_cuts == 1
    assert read_stream(api, app_id, created["deploy_id"]) == every[:2]
    # Used up: the settings are back to their defaults and streams are whole again.
    config = control.get("/config").json()
    assert (config["stream_cut_after"], config["stream_cuts"]) == (None, 1)
    assert read_stream(api, app_id, created["deploy_id"]) == every

    emulator.state.configure(stream_cut_after=0)
    assert read_stream(api, app_id, created["deploy_id"]) == []
    assert read_stream(api, app_id, created["deploy_id"]) == every


def test_stream_stall_after_goes_silent_without_done(
    api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    created = deploy(api, app_id, bundle_s3_key=upload(api, app_id, SITE))
    wait_final(api, app_id, created["deploy_id"])
    control.post("/config", json={"stream_stall_after": 1})
    got: list[str] = []
    timeout = httpx.Timeout(10, read=0.5)
    with (
        pytest.raises(httpx.ReadTimeout),
        connect_sse(
            api, "GET", stream_url(app_id, created["deploy_id"]), timeout=timeout
        ) as source,
    ):
        for event in source.iter_sse():
            got.append(event.event)
    assert got == ["message"]

    control.post("/config", json={"stream_stall_after": None})
    assert read_stream(api, app_id, created["deploy_id"])[-1] == ("done", "{}")


def test_stopping_ends_stalled_streams_at_once() -> None:
    with Emulator(build_seconds=0.05) as other:
        client = httpx.Client(base_url=other.base_url, headers=AUTH, timeout=30)
        created = deploy(client, "app_stall", source="git")
        wait_final(client, "app_stall", created["deploy_id"])
        other.state.configure(stream_stall_after=0)
        events: list[str] = []
        opened = threading.Event()

        def follow() -> None:
            with connect_sse(
                client, "GET", stream_url("app_stall", created["deploy_id"])
            ) as source:
                opened.set()
                events.extend(event.event for event in source.iter_sse())

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert opened.wait(5)
        started = time.monotonic()
    assert time.monotonic() - started < 3
    reader.join(5)
    assert not reader.is_alive()
    assert events == []
    client.close()


# -- idempotency, faults, validation --------------------------------------------------------


def test_idempotency_key_replays_and_rejects_other_bodies(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    key = str(uuid.uuid4())
    body = {"message": "once", "source": "git"}
    first = api.post(f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": key})
    second = api.post(f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert [d.deploy_id for d in emulator.state.deploys(app_id)] == [first.json()["deploy_id"]]

    other = api.post(
        f"/v1/apps/{app_id}/deploy",
        json={**body, "message": "twice"},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 422
    assert other.json()["error"]["type"] == "IdempotencyError"
    assert len(emulator.state.deploys(app_id)) == 1

    upload_key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/apps/{app_id}/deploy/upload-url"
    once = api.post(path, json={"filename": "b.zip"}, headers=upload_key).json()
    again = api.post(path, json={"filename": "b.zip"}, headers=upload_key).json()
    assert once == again
    assert (
        api.post(path, json={"filename": "b.zip"}).json()["bundle_s3_key"] != once["bundle_s3_key"]
    )


def test_deploys_helper_is_newest_first(emulator: Emulator, api: httpx.Client, app_id: str) -> None:
    ids = [
        deploy(api, app_id, source="git", environment=env, message=f"d{i}")["deploy_id"]
        for i, env in enumerate(["production", "staging", "production"])
    ]
    found = emulator.state.deploys(app_id)
    assert [d.deploy_id for d in found] == ids[::-1]
    assert [d.message for d in found] == ["d2", "d1", "d0"]
    assert [d.environment for d in found] == ["production", "staging", "production"]
    assert emulator.state.deploys(f"other_{app_id}") == []


def test_faults_with_retry_after_and_times(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    fault = {"method": "POST", "path": r"/deploy$", "status": 503, "retry_after": 2, "times": 2}
    assert control.post("/faults", json=fault).status_code == 200
    body = {"message": "retry me", "source": "git"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    answers = [api.post(f"/v1/apps/{app_id}/deploy", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "2"
    assert answers[0].json()["status"] == 503
    assert answers[0].json()["error"]["type"] == "EmulatedFault"
    # Other paths did not match, so they were never faulted.
    assert api.post(f"/v1/apps/{app_id}/deploy/upload-url", json={"filename": "b.zip"}).is_success
    assert control.get("/faults").json() == []
    recorded = [r["status"] for r in emulator.state.requests if r["path"].endswith("/deploy")]
    assert recorded[-3:] == [503, 503, 200]


def test_faults_answer_anything_before_auth(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    crafted = {"deploy_id": "dep_x", "status": "exploded"}
    emulator.state.add_fault(method="GET", path=r"/deploys/dep_x$", status=200, body=crafted)
    faked = httpx.get(f"{emulator.base_url}/v1/apps/{app_id}/deploys/dep_x")  # no key at all
    assert (faked.status_code, faked.json()) == (200, crafted)

    emulator.state.add_fault(method="GET", path="/logs/stream$", status=404)
    assert api.get(stream_url(app_id, "dep_x")).status_code == 404

    emulator.state.add_fault(
        method="GET", path=f"/apps/{app_id}$", status=502, body="<html>bad gateway</html>"
    )
    proxy = api.get(f"/v1/apps/{app_id}")
    assert proxy.status_code == 502
    assert proxy.text == "<html>bad gateway</html>"
    assert proxy.headers["content-type"].startswith("text/plain")

    emulator.state.add_fault(path=f"/apps/{app_id}$", status=None, delay=0.3)
    started = time.monotonic()
    slow = api.get(f"/v1/apps/{app_id}")
    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.3

    control.post("/faults", json={"path": f"/apps/{app_id}$", "times": None})
    assert api.get(f"/v1/apps/{app_id}").status_code == 503
    assert api.get(f"/v1/apps/{app_id}").status_code == 503
    assert control.get("/health").status_code == 200  # /_emulator is never faulted
    assert control.delete("/faults").status_code == 200
    assert api.get(f"/v1/apps/{app_id}").status_code == 200


# -- apps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_id", "slug"),
    [
        ("app_e2e", "app-e2e"),
        ("My  App!!", "my-app"),
        ("--x--", "x-app"),
        ("___", "app"),
        ("A" * 80, "a" * 60),
        ("ab-" + "c" * 56 + "_d", "ab-" + "c" * 56),
    ],
)
def test_slugs_follow_the_published_pattern(app_id: str, slug: str) -> None:
    assert app_slug(app_id) == slug
    assert 3 <= len(slug) <= 60
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", slug)


def test_site_url_uses_the_api_port_and_the_environment() -> None:
    base = "http://127.0.0.1:8787"
    assert site_url(base, "my-app", "production") == "http://my-app.localhost:8787"
    assert site_url(base, "my-app", "staging") == "http://staging-my-app.localhost:8787"


def test_get_app_and_list_apps(api: httpx.Client, app_id: str) -> None:
    answer = api.get(f"/v1/apps/{app_id}_E2E")
    assert answer.status_code == 200
    app = answer.json()
    assert {"app_id", "slug", "url", "meta", "environments", "created_at"} <= set(app)
    assert app["app_id"] == f"{app_id}_E2E"
    assert app["slug"] == f"{app_id.replace('_', '-')}-e2e"
    assert app["meta"] == {"title": f"{app_id}_E2E", "description": None}
    assert datetime.fromisoformat(app["created_at"]).utcoffset() is not None

    # Any /v1 call naming an app makes it seen; the list is in first-seen order.
    deploy(api, f"{app_id}_second", source="git")
    upload_url(api, f"{app_id}_third")
    listed = api.get("/v1/apps", params={"limit": 100, "offset": 0}).json()
    assert set(listed) == {"results", "total_count", "limit", "offset", "max_apps"}
    assert listed["max_apps"] is None
    mine = [a["app_id"] for a in listed["results"] if a["app_id"].startswith(app_id)]
    assert mine == [f"{app_id}_E2E", f"{app_id}_second", f"{app_id}_third"]
    # A list item is the app without the fields only GET one app has.
    [item] = [a for a in listed["results"] if a["app_id"] == app["app_id"]]
    assert item == {key: value for key, value in app.items() if key in item}
    assert "versions" in app and "versions" not in item

    everything = [a["app_id"] for a in listed["results"]]
    page = api.get("/v1/apps", params={"limit": 1, "offset": 1}).json()["results"]
    assert [a["app_id"] for a in page] == everything[1:2]


# -- recorded requests ----------------------------------------------------------------------


def test_api_requests_are_recorded_in_full_without_the_key(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    body = {
        "message": "fix search ranking",
        "environment": "production",
        "source": "cli_upload",
        "bundle_s3_key": bundle_key(app_id),
        "source_files": {"src/App.tsx": "export default 1\n"},
        "git_commit_sha": "b" * 40,
        "git_commit_message": "fix search ranking",
        "git_author": "Ada Lovelace <ada@example.com>",
    }
    created = api.post(
        f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": "rec-1-" + app_id}
    ).json()
    recorded = control.get("/requests").json()
    [entry] = [r for r in recorded if r["path"] == f"/v1/apps/{app_id}/deploy"]
    assert entry["method"] == "POST"
    assert entry["json"] == body
    assert entry["status"] == 200
    assert entry["headers"]["authorization"] == "Bearer ***"
    assert entry["headers"]["idempotency-key"] == "rec-1-" + app_id
    assert "sk_test_123" not in str(recorded)
    assert emulator.state.deploy_request(created["deploy_id"]) == body

    read_stream(api, app_id, created["deploy_id"])
    last = emulator.state.requests[-1]
    assert (last["path"], last["status"]) == (stream_url(app_id, created["deploy_id"]), 200)

    assert control.delete("/requests").status_code == 200
    assert emulator.state.requests == []


def test_s3_requests_are_recorded_masked_in_one_sequence_with_api_requests(
    emulator: Emulator, api: httpx.Client, control: httpx.Client, app_id: str
) -> None:
    emulator.state.clear_requests()
    target = upload_url(api, app_id)
    assert put(target["upload_url"], SITE).status_code == 200
    assert put(target["upload_url"], SITE, "text/plain").status_code == 403
    verify(api, app_id, target["bundle_s3_key"])

    # Only this app's calls: a build left running by another test may still reach S3.
    everything = sorted(
        (r for r in [*emulator.state.requests, *emulator.state.s3_requests] if app_id in r["path"]),
        key=lambda r: r["id"],
    )
    object_path = f"/{emulator.bucket}/{target['bundle_s3_key']}"
    assert [(r["method"], r["path"], r["status"]) for r in everything] == [
        ("POST", f"/v1/apps/{app_id}/deploy/upload-url", 200),
        ("PUT", object_path, 200),
        ("PUT", object_path, 403),
        ("POST", f"/v1/apps/{app_id}/deploy/verify-upload", 200),
        ("HEAD", object_path, 200),  # the emulator's own HEAD, answering verify-upload
    ]
    stored, refused, head = [r for r in emulator.state.s3_requests if app_id in r["path"]]
    assert stored["query"]["X-Amz-Signature"] == stored["query"]["X-Amz-Credential"] == "***"
    assert stored["query"]["X-Amz-Expires"] == "3600"
    assert stored["headers"]["content-type"] == "application/zip"
    assert stored["content_length"] == len(SITE)
    assert refused["headers"]["content-type"] == "text/plain"
    assert "mixpeek-emulator" in head["headers"]["user-agent"]
    assert head["headers"]["authorization"].endswith(" ***")
    assert "mixpeek-emulator" not in stored["headers"]["user-agent"]

    assert control.get("/s3-requests").json() == emulator.state.s3_requests
    assert control.delete("/s3-requests").status_code == 200
    assert emulator.state.s3_requests == []
    assert emulator.state.requests != []


# -- config and lifecycle -----------------------------------------------------------------


def test_config_endpoint_round_trips(control: httpx.Client) -> None:
    assert control.post("/config", json={"build_seconds": 1.5}).json()["build_seconds"] == 1.5
    assert control.get("/config").json() == {
        "build_seconds": 1.5,
        "fail_builds_with": None,
        "expired_urls": 0,
        "bad_signature_urls": 0,
        "client_s3_endpoint_url": None,
        "api_keys": None,
        "upload_url_seconds": 3600,
        "stream_enabled": True,
        "stream_cut_after": None,
        "stream_cuts": 1,
        "stream_stall_after": None,
        "smoke_test_errors": None,
        "unknown_apps": None,
        "max_apps": None,
    }
    changed = control.post("/config", json={"stream_cut_after": 3, "stream_stall_after": 2})
    assert (changed.json()["stream_cut_after"], changed.json()["stream_stall_after"]) == (3, 2)
    # Null resets a nullable setting and leaves the others alone.
    reset = control.post(
        "/config",
        json={"stream_cut_after": None, "build_seconds": None, "stream_stall_after": None},
    ).json()
    assert (reset["stream_cut_after"], reset["stream_stall_after"]) == (None, None)
    assert reset["build_seconds"] == 1.5
    for bad in ({"upload_mode": "presigned"}, {"upload_url_seconds": 0}, {"stream_cuts": -1}):
        assert control.post("/config", json=bad).status_code == 422


def test_emulators_are_independent_and_restartable(emulator: Emulator) -> None:
    started = time.monotonic()
    with Emulator(build_seconds=0.1, fail_builds_with="nope") as other:
        assert time.monotonic() - started < 3
        assert other.base_url != emulator.base_url
        assert other.bucket != emulator.bucket
        assert isinstance(other.state, EmulatorState)
        assert other.state is not emulator.state
        assert other.state.config.fail_builds_with == "nope"
        assert emulator.state.config.fail_builds_with is None
        with httpx.Client(base_url=other.base_url, headers=AUTH) as client:
            created = deploy(client, "app_shared", source="git")
            assert wait_final(client, "app_shared", created["deploy_id"])["error"] == "nope"
    assert emulator.state.get_deploy("app_shared", created["deploy_id"]) is None
    other.stop()  # stopping twice is harmless
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{other.base_url}/_emulator/health", timeout=1)
    with Emulator(build_seconds=0.1) as again:
        assert httpx.get(f"{again.base_url}/_emulator/health").json()["ok"] is True
