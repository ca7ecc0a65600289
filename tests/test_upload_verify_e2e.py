"""verify-upload end to end: what the server's HEAD saw decides whether the deploy goes on,
and an unchanged bundle is deployed again from its earlier upload, only if it is intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import calls, read_bundle

from mixpeek_cli.emulator import Emulator


def deploy_posts(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def uploads(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in calls(emu) if c["to"] == "s3" and c["method"] == "PUT"]


def answer(**fields: object) -> dict[str, object]:
    return {
        "bundle_s3_key": "ignored",
        "etag": None,
        "size_bytes": None,
        "last_modified": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("verify_answer", "named"),
    [
        (answer(exists=False), "S3 holds no object at that key"),
        (answer(exists=True, etag=None, size_bytes=1), "S3 holds 1 bytes there, the zip has"),
        (
            answer(exists=True, etag='"' + "0" * 32 + '"', size_bytes="SIZE"),
            f"the object's ETag is {'0' * 32}, the zip's MD5 is",
        ),
    ],
)
def test_a_verify_answer_that_differs_exits_5_naming_it(
    emu, run_cli, remote_env, app_dir, tmp_path, verify_answer, named
):
    out = tmp_path / "bundle.zip"
    assert run_cli("bundle", str(app_dir), "-o", str(out)).code == 0
    if verify_answer["size_bytes"] == "SIZE":
        verify_answer["size_bytes"] = out.stat().st_size
    emu.state.add_fault(method="POST", path="/verify-upload$", status=200, body=verify_answer)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 5, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "the upload did not land as sent" in error and named in error
    assert deploy_posts(emu) == []
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("status", [404, 405])
def test_a_server_without_verify_upload_relies_on_the_put(
    emu, run_cli, remote_env, app_dir, status
):
    # What a server without the route answers (FastAPI's own 404/405): no Mixpeek error.
    detail = {404: "Not Found", 405: "Method Not Allowed"}[status]
    emu.state.add_fault(
        method="POST", path="/verify-upload$", status=status, body={"detail": detail}, times=None
    )

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert "main.py" in read_bundle(emu, key)


def test_an_unchanged_bundle_reuses_its_upload(emu, run_cli, remote_env, app_dir):
    first = run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env)
    emu.state.clear_requests()
    second = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=remote_env)

    assert first.code == 0 and second.code == 0, second.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert (one["upload_reused"], two["upload_reused"]) == (False, True)
    assert two["bundle_s3_key"] == one["bundle_s3_key"]
    assert two["bundle_sha256"] == one["bundle_sha256"]
    assert "bundle unchanged: reusing the upload from 20" in second.stderr
    paths = [c["path"] for c in calls(emu) if c["to"] == "api"]
    assert not any(p.endswith("/upload-url") for p in paths)
    assert uploads(emu) == []
    assert sum(p.endswith("/verify-upload") for p in paths) == 1
    assert deploy_posts(emu)[0]["json"]["bundle_s3_key"] == one["bundle_s3_key"]


def test_a_reused_upload_that_is_gone_is_uploaded_again(emu, run_cli, remote_env, app_dir):
    first = json.loads(
        run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env).stdout
    )
    emu.s3_client().delete_object(Bucket=emu.bucket, Key=first["bundle_s3_key"])
    emu.state.clear_requests()

    again = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=remote_env)

    assert again.code == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["upload_reused"] is False and data["bundle_s3_key"] != first["bundle_s3_key"]
    assert len(uploads(emu)) == 1
    assert "reusing the upload" not in again.stderr
    assert "main.py" in read_bundle(emu, data["bundle_s3_key"])


def test_a_reused_upload_whose_object_changed_is_uploaded_again(emu, run_cli, remote_env, app_dir):
    first = json.loads(
        run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env).stdout
    )
    # Same key, other bytes of the same size: only the MD5 tells them apart.
    key = first["bundle_s3_key"]
    s3 = emu.s3_client()
    body = bytearray(s3.get_object(Bucket=emu.bucket, Key=key)["Body"].read())
    body[-1] ^= 0xFF
    s3.put_object(Bucket=emu.bucket, Key=key, Body=bytes(body), ContentType="application/zip")
    emu.state.clear_requests()

    again = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=remote_env)

    assert again.code == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["upload_reused"] is False and data["bundle_s3_key"] != key
    assert len(uploads(emu)) == 1


def test_a_changed_file_is_always_uploaded(emu, run_cli, remote_env, app_dir: Path):
    first = json.loads(
        run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env).stdout
    )
    (app_dir / "main.py").write_text("print('changed')\n")
    emu.state.clear_requests()

    again = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=remote_env)

    assert again.code == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["upload_reused"] is False
    assert data["bundle_sha256"] != first["bundle_sha256"]
    assert len(uploads(emu)) == 1
    assert read_bundle(emu, data["bundle_s3_key"])["main.py"] == b"print('changed')\n"


def test_reuse_is_per_app(emu, run_cli, remote_env, app_dir):
    first = run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env)
    other = run_cli(
        "deploy", str(app_dir), "-m", "one", "--json", env={**remote_env, "MIXPEEK_APP_ID": "app_b"}
    )

    assert first.code == 0 and other.code == 0, other.stderr
    assert json.loads(other.stdout)["upload_reused"] is False
    assert json.loads(other.stdout)["bundle_s3_key"].startswith("app-builds/app_b/")


def test_the_uploaded_zip_is_the_bundle_byte_for_byte(emu, run_cli, remote_env, app_dir, tmp_path):
    out = tmp_path / "local.zip"
    assert run_cli("bundle", str(app_dir), "-o", str(out)).code == 0
    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    key = json.loads(result.stdout)["bundle_s3_key"]
    stored = emu.s3_client().get_object(Bucket=emu.bucket, Key=key)
    assert stored["Body"].read() == out.read_bytes()
    assert stored["ETag"].strip('"') == hashlib.md5(out.read_bytes()).hexdigest()
