"""The emulator, exercised over real HTTP (httpx) and real S3 calls (boto3 against moto)."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from mixpeek_cli.emulator import Emulator, EmulatorState

BUILD_SECONDS = 0.3
AUTH = {"Authorization": "Bearer sk_test_123"}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(build_seconds=BUILD_SECONDS) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_controls(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.state.configure(
        build_seconds=BUILD_SECONDS,
        upload_mode="presigned",
        fail_builds_with=None,
        logs_enabled=True,
    )
    emulator.state.clear_faults()


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def app_id() -> str:
    # A fresh app per test keeps deploy lists independent across tests.
    return f"app_{uuid.uuid4().hex[:10]}"


def make_zip(files: dict[str, str], dirs: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name in dirs:
            bundle.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), "")
        for name, text in files.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


def upload_request(data: bytes) -> dict[str, Any]:
    return {
        "filename": "bundle.zip",
        "file_size_bytes": len(data),
        "content_sha256": hashlib.sha256(data).hexdigest(),
    }


def upload(api: httpx.Client, app_id: str, data: bytes) -> str:
    """Upload through the API the way the CLI does; returns the bundle key."""
    target = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    if not target.get("already_uploaded"):
        put = httpx.put(target["presigned_url"], content=data, headers=target["headers"])
        assert put.status_code == 200, put.text
    key: str = target["bundle_s3_key"]
    return key


def deploy(api: httpx.Client, app_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "ship it", **body})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def wait_final(api: httpx.Client, app_id: str, deploy_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info: dict[str, Any] = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
        if info["status"] in ("complete", "failed"):
            return info
        time.sleep(0.03)
    raise AssertionError(f"deploy {deploy_id} never finished")


def test_v1_requires_a_bearer_key(emulator: Emulator) -> None:
    url = f"{emulator.base_url}/v1/apps/app_1/deploys"
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "success": False,
            "status": 401,
            "error": {
                "message": response.json()["error"]["message"],
                "type": "AuthenticationError",
                "details": {},
            },
        }
    assert httpx.get(f"{emulator.base_url}/_emulator/config").status_code == 200


def test_presigned_upload_lands_in_s3_and_is_then_already_uploaded(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    data = make_zip({"main.py": "print('hi')\n"})
    sha = hashlib.sha256(data).hexdigest()
    target = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    assert target["bundle_s3_key"] == f"apps/{app_id}/bundles/{sha}.zip"
    assert target["upload_id"]
    assert datetime.fromisoformat(target["expires_at"]).utcoffset() is not None
    assert target["already_uploaded"] is False
    assert "credentials" not in target
    assert target["presigned_url"].startswith(emulator.s3_endpoint_url)

    # A plain HTTP PUT, no AWS library and no Authorization header.
    put = httpx.put(target["presigned_url"], content=data, headers=target["headers"])
    assert put.status_code == 200, put.text

    stored = emulator.s3_client().get_object(Bucket=emulator.bucket, Key=target["bundle_s3_key"])
    assert stored["Body"].read() == data

    again = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    assert again["already_uploaded"] is True
    assert again["bundle_s3_key"] == target["bundle_s3_key"]
    assert again["presigned_url"]


def test_same_key_with_other_bytes_is_not_already_uploaded(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    data = make_zip({"main.py": "x = 1\n"})
    key = upload(api, app_id, data)
    emulator.s3_client().put_object(Bucket=emulator.bucket, Key=key, Body=b"x" * len(data))
    again = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    assert again["already_uploaded"] is False


def test_credentials_mode_upload_with_boto3(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    response = httpx.post(
        f"{emulator.base_url}/_emulator/config", json={"upload_mode": "credentials"}
    )
    assert response.json()["upload_mode"] == "credentials"
    data = make_zip({"app.py": "print(2)\n"})
    target = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    assert "presigned_url" not in target
    creds = target["credentials"]
    assert creds["bucket"] == emulator.bucket
    assert creds["region"] == "us-east-1"
    assert creds["endpoint_url"] == emulator.s3_endpoint_url

    s3 = boto3.session.Session().client(
        "s3",
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        aws_session_token=creds["session_token"],
        region_name=creds["region"],
        endpoint_url=creds["endpoint_url"],
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.upload_fileobj(io.BytesIO(data), creds["bucket"], target["bundle_s3_key"])

    again = api.post(f"/v1/apps/{app_id}/uploads", json=upload_request(data)).json()
    assert again["already_uploaded"] is True
    assert again["credentials"]["bucket"] == emulator.bucket


def test_upload_request_is_validated(api: httpx.Client, app_id: str) -> None:
    bad = {"filename": "b.zip", "file_size_bytes": -1, "content_sha256": "ABC"}
    response = api.post(f"/v1/apps/{app_id}/uploads", json=bad)
    assert response.status_code == 422
    locs = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert locs == {("body", "file_size_bytes"), ("body", "content_sha256")}


def test_deploy_goes_queued_building_complete_with_progressive_logs(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    # Long enough that a loaded machine still sees the log grow between polls.
    build_seconds = 0.8
    emulator.state.configure(build_seconds=build_seconds)
    key = upload(api, app_id, make_zip({"main.py": "print(1)\n", "requirements.txt": ""}))
    created = deploy(api, app_id, bundle_s3_key=key, environment="staging")
    assert set(created) == {"app_id", "deploy_id", "status", "environment", "message"}
    assert created["status"] == "queued"
    assert created["environment"] == "staging"
    assert created["message"] == "ship it"
    assert created["deploy_id"].startswith("dep_") and len(created["deploy_id"]) == 20
    deploy_id = created["deploy_id"]

    statuses: list[str] = []
    collected: list[str] = []
    offset = 0
    reads_with_lines = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
        if not statuses or statuses[-1] != info["status"]:
            statuses.append(info["status"])
        logs = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}/logs", params={"offset": offset})
        page = logs.json()
        assert page["next_offset"] == offset + len(page["lines"])
        reads_with_lines += bool(page["lines"])
        collected += page["lines"]
        offset = page["next_offset"]
        if info["status"] in ("complete", "failed"):
            break
        time.sleep(0.02)

    assert statuses[0] == "queued"
    assert statuses[-1] == "complete"
    assert "building" in statuses
    assert reads_with_lines > 1  # the log grew while the build ran
    full = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}/logs").json()
    assert full["lines"] == collected
    assert any(key in line and "bytes" in line for line in collected)
    assert "bundle holds 2 files" in collected
    assert collected[-1].startswith("build complete")
    assert api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}/logs?offset=999").json() == {
        "lines": [],
        "next_offset": 999,
    }

    info = api.get(f"/v1/apps/{app_id}/deploys/{deploy_id}").json()
    assert info["url"] == f"https://{app_id}.staging.apps.mixpeek.local"
    assert info["error"] is None
    created_at = datetime.fromisoformat(info["created_at"])
    updated_at = datetime.fromisoformat(info["updated_at"])
    assert created_at.utcoffset() is not None
    assert (updated_at - created_at).total_seconds() >= build_seconds * 0.9


@pytest.mark.parametrize(
    ("bundle", "reason"),
    [
        (b"this is not a zip", "bundle is not a valid zip archive"),
        (make_zip({}, dirs=("src", "src/lib")), "bundle holds no files"),
        (
            make_zip({"main.py": "", "MIXPEEK_FAIL_BUILD": "  ModuleNotFoundError: numpy\n"}),
            "ModuleNotFoundError: numpy",
        ),
    ],
    ids=["not-a-zip", "only-directories", "fail-marker"],
)
def test_bad_bundles_fail_the_build(
    emulator: Emulator, api: httpx.Client, app_id: str, bundle: bytes, reason: str
) -> None:
    key = f"apps/{app_id}/bundles/{hashlib.sha256(bundle).hexdigest()}.zip"
    emulator.s3_client().put_object(Bucket=emulator.bucket, Key=key, Body=bundle)
    created = deploy(api, app_id, bundle_s3_key=key)
    info = wait_final(api, app_id, created["deploy_id"])
    assert info["status"] == "failed"
    assert info["error"] == reason
    assert info["url"] is None
    lines = api.get(f"/v1/apps/{app_id}/deploys/{created['deploy_id']}/logs").json()["lines"]
    assert lines[-1] == f"build failed: {reason}"


def test_missing_bundle_fails_with_a_reason(api: httpx.Client, app_id: str) -> None:
    key = f"apps/{app_id}/bundles/{'0' * 64}.zip"
    info = wait_final(api, app_id, deploy(api, app_id, bundle_s3_key=key)["deploy_id"])
    assert info["status"] == "failed"
    assert "not found" in info["error"] and key in info["error"]


def test_fail_builds_with_setting(emulator: Emulator, api: httpx.Client, app_id: str) -> None:
    httpx.post(f"{emulator.base_url}/_emulator/config", json={"fail_builds_with": "out of disk"})
    key = upload(api, app_id, make_zip({"main.py": "ok = True\n"}))
    info = wait_final(api, app_id, deploy(api, app_id, bundle_s3_key=key)["deploy_id"])
    assert (info["status"], info["error"]) == ("failed", "out of disk")
    cleared = httpx.post(f"{emulator.base_url}/_emulator/config", json={"fail_builds_with": None})
    assert cleared.json()["fail_builds_with"] is None


def test_git_source_builds_without_a_bundle(api: httpx.Client, app_id: str) -> None:
    sha = "a" * 40
    created = deploy(api, app_id, source="git", git_commit_sha=sha)
    info = wait_final(api, app_id, created["deploy_id"])
    assert info["status"] == "complete"
    assert info["url"] == f"https://{app_id}.apps.mixpeek.local"
    lines = api.get(f"/v1/apps/{app_id}/deploys/{created['deploy_id']}/logs").json()["lines"]
    assert any(sha in line for line in lines)


def test_deploy_validation_errors_are_422(api: httpx.Client, app_id: str) -> None:
    missing = api.post(f"/v1/apps/{app_id}/deploy", json={"bundle_s3_key": "k"})
    assert missing.status_code == 422
    [error] = missing.json()["detail"]
    assert error["loc"] == ["body", "message"]
    assert error["type"] == "missing"

    wrong_env = api.post(
        f"/v1/apps/{app_id}/deploy", json={"message": "m", "bundle_s3_key": "k", "environment": "x"}
    )
    assert wrong_env.status_code == 422
    assert wrong_env.json()["detail"][0]["loc"] == ["body", "environment"]

    no_bundle = api.post(f"/v1/apps/{app_id}/deploy", json={"message": "m"})
    assert no_bundle.status_code == 422
    assert "bundle_s3_key" in no_bundle.json()["detail"][0]["msg"]


def test_deploy_requests_are_recorded_in_full_without_the_key(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    body = {
        "message": "fix search ranking",
        "environment": "production",
        "source": "cli_upload",
        "bundle_s3_key": f"apps/{app_id}/bundles/{'1' * 64}.zip",
        "source_files": {"main.py": "print('hi')\n"},
        "git_commit_sha": "b" * 40,
        "git_commit_message": "fix search ranking",
        "git_author": "Ada Lovelace <ada@example.com>",
    }
    created = api.post(
        f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": "rec-1-" + app_id}
    ).json()
    recorded = httpx.get(f"{emulator.base_url}/_emulator/requests").json()
    [entry] = [r for r in recorded if r["path"] == f"/v1/apps/{app_id}/deploy"]
    assert entry["method"] == "POST"
    assert entry["json"] == body
    assert entry["status"] == 200
    assert entry["headers"]["authorization"] == "Bearer ***"
    assert entry["headers"]["idempotency-key"] == "rec-1-" + app_id
    assert "sk_test_123" not in str(recorded)
    assert emulator.state.deploy_request(created["deploy_id"]) == body
    # Every /v1 call is recorded, not only deploys.
    api.get(f"/v1/apps/{app_id}/deploys")
    assert emulator.state.requests[-1]["path"] == f"/v1/apps/{app_id}/deploys"

    assert httpx.delete(f"{emulator.base_url}/_emulator/requests").status_code == 200
    assert emulator.state.requests == []


def test_idempotency_key_replays_and_rejects_other_bodies(api: httpx.Client, app_id: str) -> None:
    key = str(uuid.uuid4())
    body = {"message": "once", "source": "git"}
    first = api.post(f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": key})
    second = api.post(f"/v1/apps/{app_id}/deploy", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    results = api.get(f"/v1/apps/{app_id}/deploys").json()["results"]
    assert [r["deploy_id"] for r in results] == [first.json()["deploy_id"]]

    other = api.post(
        f"/v1/apps/{app_id}/deploy",
        json={**body, "message": "twice"},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 422
    assert other.json()["error"]["type"] == "IdempotencyError"
    assert len(api.get(f"/v1/apps/{app_id}/deploys").json()["results"]) == 1


def test_faults_with_retry_after_and_times(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    fault = {"method": "POST", "path": r"/deploy$", "status": 503, "retry_after": 2, "times": 2}
    assert httpx.post(f"{emulator.base_url}/_emulator/faults", json=fault).status_code == 200
    body = {"message": "retry me", "source": "git"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    answers = [api.post(f"/v1/apps/{app_id}/deploy", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "2"
    assert answers[0].json()["status"] == 503
    # The GET path did not match, so it was never faulted.
    assert api.get(f"/v1/apps/{app_id}/deploys").status_code == 200
    assert httpx.get(f"{emulator.base_url}/_emulator/faults").json() == []
    recorded = [r["status"] for r in emulator.state.requests if r["path"].endswith("/deploy")]
    assert recorded[-3:] == [503, 503, 200]


def test_fault_with_non_json_body_and_slow_answers(
    emulator: Emulator, api: httpx.Client, app_id: str
) -> None:
    emulator.state.add_fault(
        method="GET", path="/deploys$", status=502, body="<html>bad gateway</html>"
    )
    proxy = api.get(f"/v1/apps/{app_id}/deploys")
    assert proxy.status_code == 502
    assert proxy.text == "<html>bad gateway</html>"

    emulator.state.add_fault(method="*", path="/deploys$", status=None, delay=0.3)
    started = time.monotonic()
    slow = api.get(f"/v1/apps/{app_id}/deploys")
    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.3

    httpx.post(f"{emulator.base_url}/_emulator/faults", json={"path": ".*", "times": None})
    assert api.get(f"/v1/apps/{app_id}/deploys").status_code == 503
    assert api.get(f"/v1/apps/{app_id}/deploys").status_code == 503
    assert httpx.delete(f"{emulator.base_url}/_emulator/faults").status_code == 200
    assert api.get(f"/v1/apps/{app_id}/deploys").status_code == 200


def test_logs_disabled_answers_404(emulator: Emulator, api: httpx.Client, app_id: str) -> None:
    created = deploy(api, app_id, source="git")
    httpx.post(f"{emulator.base_url}/_emulator/config", json={"logs_enabled": False})
    response = api.get(f"/v1/apps/{app_id}/deploys/{created['deploy_id']}/logs")
    assert response.status_code == 404
    assert api.get(f"/v1/apps/{app_id}/deploys/{created['deploy_id']}").status_code == 200


def test_unknown_deploy_is_404(api: httpx.Client, app_id: str) -> None:
    for path in ("", "/logs"):
        response = api.get(f"/v1/apps/{app_id}/deploys/dep_0000000000000000{path}")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFoundError"


def test_list_is_newest_first_and_filters_by_environment(api: httpx.Client, app_id: str) -> None:
    ids = [
        deploy(api, app_id, source="git", environment=env, message=f"d{i}")["deploy_id"]
        for i, env in enumerate(["production", "staging", "production", "staging"])
    ]
    every = api.get(f"/v1/apps/{app_id}/deploys").json()["results"]
    assert [d["deploy_id"] for d in every] == ids[::-1]
    assert set(every[0]) == {
        "app_id",
        "deploy_id",
        "status",
        "environment",
        "message",
        "error",
        "url",
        "created_at",
        "updated_at",
    }
    staging = api.get(f"/v1/apps/{app_id}/deploys", params={"environment": "staging"}).json()
    assert [d["deploy_id"] for d in staging["results"]] == [ids[3], ids[1]]
    limited = api.get(f"/v1/apps/{app_id}/deploys", params={"limit": 1}).json()
    assert [d["deploy_id"] for d in limited["results"]] == [ids[3]]
    assert api.get(f"/v1/apps/other_{app_id}/deploys").json() == {"results": []}


def test_config_endpoint_round_trips(emulator: Emulator) -> None:
    url = f"{emulator.base_url}/_emulator/config"
    assert httpx.post(url, json={"build_seconds": 1.5}).json()["build_seconds"] == 1.5
    assert httpx.get(url).json() == {
        "build_seconds": 1.5,
        "upload_mode": "presigned",
        "fail_builds_with": None,
        "logs_enabled": True,
        "expired_urls": 0,
        "bad_signature_urls": 0,
        "client_s3_endpoint_url": None,
    }
    assert httpx.post(url, json={"upload_mode": "ftp"}).status_code == 422


def test_emulators_are_independent_and_restartable(emulator: Emulator) -> None:
    started = time.monotonic()
    with Emulator(build_seconds=0.1, upload_mode="credentials") as other:
        assert time.monotonic() - started < 3
        assert other.base_url != emulator.base_url
        assert other.bucket != emulator.bucket
        assert isinstance(other.state, EmulatorState)
        assert other.state is not emulator.state
        assert other.state.config.upload_mode == "credentials"
        client = httpx.Client(base_url=other.base_url, headers=AUTH)
        with client:
            created = deploy(client, "app_shared", source="git")
            assert wait_final(client, "app_shared", created["deploy_id"])["status"] == "complete"
    assert emulator.state.get_deploy("app_shared", created["deploy_id"]) is None
    other.stop()  # stopping twice is harmless
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{other.base_url}/_emulator/health", timeout=1)
