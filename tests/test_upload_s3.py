"""The boto3 paths, end to end against moto's server over real HTTP: your own bucket (AWS
env credentials + an endpoint override) and the API's temporary credentials. A proxy of
the test's own sits in front of moto to fail, cut, corrupt or slow requests."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, APP_ID, read_bundle, spawn_cli
from upload_proxy import S3Proxy

from mixpeek_cli.emulator import Emulator, storage

MiB = 1024 * 1024
SMALL_THRESHOLD = str(5 * MiB)
AWS_SECRET = "own-bucket-secret-access-key-0123456789"


@pytest.fixture
def own_bucket(emu: Emulator) -> str:
    """ "Your own" bucket: the emulator's, so its builds can read what the CLI put there
    (a self-hosted service reads bundles from the bucket you upload to)."""
    return emu.bucket


@pytest.fixture
def prefix() -> str:
    # Per test, so listings of objects and multipart uploads see only this test's.
    return f"own-{secrets.token_hex(4)}/"


def in_progress(emu: Emulator, prefix: str) -> list[dict[str, str]]:
    return [u for u in emu.multipart_uploads() if u["Key"].startswith(prefix)]


@pytest.fixture
def proxy(emu: Emulator) -> Iterator[S3Proxy]:
    with S3Proxy(emu.s3_endpoint_url) as p:
        yield p
    emu.state.configure(client_s3_endpoint_url=None)


@pytest.fixture
def bucket_env(
    remote_env: dict[str, str], own_bucket: str, prefix: str, proxy: S3Proxy
) -> dict[str, str]:
    return {
        **remote_env,
        "MIXPEEK_BUNDLE_BUCKET": own_bucket,
        "MIXPEEK_S3_PREFIX": prefix,
        "AWS_ENDPOINT_URL_S3": proxy.url,
        "AWS_ACCESS_KEY_ID": "AKIAOWNBUCKETTEST000",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture(autouse=True)
def _unique_bundle(app_dir: Path) -> None:
    (app_dir / "unique.txt").write_text(os.urandom(8).hex())


def add_payload(app_dir: Path, size: int) -> bytes:
    payload = os.urandom(size)  # incompressible: the zip is at least this big
    (app_dir / "weights.bin").write_bytes(payload)
    return payload


def api_calls(emu: Emulator, pattern: str) -> list[dict[str, Any]]:
    return [r for r in emu.state.requests if re.search(pattern, r["path"])]


def read_from(emu: Emulator, bucket: str, key: str) -> tuple[dict[str, Any], bytes]:
    s3 = emu.s3_client()
    return dict(s3.head_object(Bucket=bucket, Key=key)), s3.get_object(Bucket=bucket, Key=key)[
        "Body"
    ].read()


# -- your own bucket --------------------------------------------------------------------------


def test_own_bucket_upload_skips_the_uploads_endpoint(
    emu, run_cli, bucket_env, own_bucket, prefix, proxy, app_dir
):
    result = run_cli("deploy", str(app_dir), "-m", "mine", "--json", env=bucket_env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    sha = data["bundle_sha256"]
    assert data["bundle_s3_key"] == f"{prefix}{APP_ID}/{sha}.zip"
    assert api_calls(emu, r"/uploads$") == []
    deploy = api_calls(emu, r"/deploy$")[0]["json"]
    assert deploy["bundle_s3_key"] == data["bundle_s3_key"]
    head, body = read_from(emu, own_bucket, data["bundle_s3_key"])
    assert head["Metadata"] == {"sha256": sha} and len(body) == data["bundle_bytes"]
    (put,) = proxy.requests("PUT")
    assert "x-amz-checksum-sha256" in put.headers  # SHA-256 checksums by default
    assert AWS_SECRET not in result.out_and_err


def test_existing_object_with_same_size_and_sha256_is_not_uploaded_again(
    emu, run_cli, bucket_env, own_bucket, proxy, app_dir
):
    first = run_cli("deploy", str(app_dir), "-m", "one", "--json", env=bucket_env)
    second = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=bucket_env)

    assert first.code == 0 and second.code == 0, second.stderr
    assert json.loads(first.stdout)["already_uploaded"] is False
    assert json.loads(second.stdout)["already_uploaded"] is True
    assert "skipping the upload" in second.stderr
    assert len(proxy.requests("PUT")) == 1  # the first run's only


def test_object_at_the_key_without_the_recorded_sha256_is_replaced(
    emu, run_cli, bucket_env, own_bucket, prefix, app_dir
):
    dry = run_cli("deploy", str(app_dir), "--dry-run", "-m", "x", "--json", env=bucket_env)
    data = json.loads(dry.stdout)
    key = f"{prefix}{APP_ID}/{data['bundle_sha256']}.zip"
    # Same size, other bytes, no sha256 metadata: not our bundle.
    emu.s3_client().put_object(Bucket=own_bucket, Key=key, Body=b"\0" * data["bundle_bytes"])

    result = run_cli("deploy", str(app_dir), "-m", "replace", "--json", env=bucket_env)

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["already_uploaded"] is False
    assert "main.py" in read_bundle_from(emu, own_bucket, key)


def read_bundle_from(emu: Emulator, bucket: str, key: str) -> dict[str, bytes]:
    import io
    import zipfile

    _, body = read_from(emu, bucket, key)
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_multipart_with_a_small_threshold_lands_byte_exact(
    emu, run_cli, bucket_env, own_bucket, prefix, proxy, app_dir
):
    payload = add_payload(app_dir, 13 * MiB)
    env = {**bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}

    result = run_cli(
        "deploy", str(app_dir), "-m", "parts", "--s3-prefix", f"{prefix}ci", "--json", env=env
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bundle_s3_key"].startswith(f"{prefix}ci/{APP_ID}/")  # the flag wins
    head, _ = read_from(emu, own_bucket, data["bundle_s3_key"])
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + ~3 MiB
    assert head["Metadata"]["sha256"] == data["bundle_sha256"]
    assert read_bundle_from(emu, own_bucket, data["bundle_s3_key"])["weights.bin"] == payload
    parts = proxy.requests("PUT", "partNumber=")
    assert sorted(int(p.query["partNumber"]) for p in parts) == [1, 2, 3]
    assert all("x-amz-checksum-sha256" in p.headers for p in parts)
    assert in_progress(emu, prefix) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "status", "status": 500, "code": "InternalError"},
        {"action": "drop", "after": 1 * MiB},
    ],
    ids=["500", "connection-cut"],
)
def test_a_failed_part_is_retried(emu, run_cli, bucket_env, own_bucket, proxy, app_dir, fault):
    payload = add_payload(app_dir, 13 * MiB)
    proxy.add("PUT", "partNumber=2(&|$)", **fault)
    env = {**bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}

    result = run_cli("deploy", str(app_dir), "-m", "retry", "--json", env=env)

    assert result.code == 0, result.stderr
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert len(proxy.requests("PUT", "partNumber=2(&|$)")) == 2
    assert len(proxy.requests("PUT", "partNumber=1(&|$)")) == 1
    assert read_bundle_from(emu, own_bucket, key)["weights.bin"] == payload


def test_a_part_that_keeps_failing_aborts_the_multipart_upload(
    emu, run_cli, bucket_env, own_bucket, prefix, proxy, app_dir
):
    add_payload(app_dir, 13 * MiB)
    proxy.add("PUT", "partNumber=3(&|$)", "status", times=None, status=500, code="InternalError")
    env = {**bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}

    result = run_cli("deploy", str(app_dir), "-m", "doomed", env=env)

    assert result.code == 5, result.stderr
    assert "InternalError" in result.stderr and "Traceback" not in result.stderr
    assert len(proxy.requests("PUT", "partNumber=3(&|$)")) == 5  # botocore's standard attempts
    assert proxy.requests("DELETE", "uploadId=")  # AbortMultipartUpload
    assert in_progress(emu, prefix) == []
    assert api_calls(emu, r"/deploy$") == []


def test_corrupted_bytes_fail_the_deploy_and_leave_no_object(
    emu, run_cli, bucket_env, own_bucket, prefix, proxy, app_dir
):
    add_payload(app_dir, 13 * MiB)
    proxy.add("PUT", "partNumber=2(&|$)", "corrupt")
    env = {**bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}

    result = run_cli("deploy", str(app_dir), "-m", "mangled", "--json", env=env)

    assert result.code == 5, result.stderr
    assert "holds different bytes than were sent" in result.stderr
    assert api_calls(emu, r"/deploy$") == []
    # Left in place, its sha256 metadata would make the next deploy skip the upload.
    listed = emu.s3_client().list_objects_v2(Bucket=own_bucket, Prefix=prefix)
    assert listed.get("KeyCount") == 0


def test_when_required_sends_content_md5_instead_of_flexible_checksums(
    emu, run_cli, bucket_env, own_bucket, proxy, app_dir
):
    payload = add_payload(app_dir, 13 * MiB)
    env = {**bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}

    result = run_cli(
        "deploy", str(app_dir), "-m", "md5", "--s3-checksums", "when_required", "--json", env=env
    )

    assert result.code == 0, result.stderr
    parts = proxy.requests("PUT", "partNumber=")
    assert len(parts) == 3
    for part in parts:
        assert "content-md5" in part.headers
        assert not any(h.startswith("x-amz-checksum-") for h in part.headers)
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert read_bundle_from(emu, own_bucket, key)["weights.bin"] == payload


def test_missing_aws_credentials_is_a_usage_error(run_cli, bucket_env, app_dir, tmp_path):
    env = {k: v for k, v in bucket_env.items() if not k.startswith("AWS_ACCESS")}
    env.pop("AWS_SECRET_ACCESS_KEY")
    env["AWS_SHARED_CREDENTIALS_FILE"] = env["AWS_CONFIG_FILE"] = str(tmp_path / "none")

    result = run_cli("deploy", str(app_dir), "-m", "nocreds", env=env)

    assert result.code == 2, result.stderr
    assert "no usable AWS credentials" in result.stderr and "AWS_PROFILE" in result.stderr


def test_ctrl_c_during_a_multipart_upload_aborts_it_and_creates_no_deploy(
    emu, cli_env, bucket_env, own_bucket, prefix, proxy, app_dir
):
    add_payload(app_dir, 13 * MiB)
    proxy.slow_rate = 256 * 1024
    proxy.add("PUT", "partNumber=", "slow", times=None)
    env = {**cli_env, **bucket_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}
    proc = spawn_cli("deploy", str(app_dir), "-m", "stop", env=env)
    try:
        assert proxy.slow_started.wait(30), "no part upload started"
        assert in_progress(emu, prefix) != []
        proc.send_signal(signal.SIGINT)
        proxy.slow_rate = None  # let the parts in flight finish: the abort comes after them
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()

    assert proc.returncode == 130, stderr
    assert "no deploy was created" in stderr and "Traceback" not in stderr
    assert stdout == ""
    assert api_calls(emu, r"/deploy$") == []
    assert proxy.requests("DELETE", "uploadId=")
    assert in_progress(emu, prefix) == []


# -- the API's temporary credentials --------------------------------------------------------


def test_credentials_mode_multipart_through_a_flaky_link(emu, run_cli, remote_env, proxy, app_dir):
    payload = add_payload(app_dir, 13 * MiB)
    emu.state.configure(upload_mode="credentials", client_s3_endpoint_url=proxy.url)
    proxy.add("PUT", "partNumber=1(&|$)", "status", status=503, code="SlowDown")
    env = {
        **remote_env,
        "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD,
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
    }

    result = run_cli("deploy", str(app_dir), "-m", "creds", "--json", "--verbose", env=env)

    assert result.code == 0, result.stderr
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert key.startswith(f"apps/{APP_ID}/bundles/")  # the API's key, not a bucket prefix
    assert read_bundle(emu, key)["weights.bin"] == payload
    assert len(proxy.requests("PUT", "partNumber=1(&|$)")) == 2
    # The API's credentials went to the API's endpoint, not to AWS_ENDPOINT_URL_S3.
    assert proxy.requests("POST", "uploads")
    assert storage.SECRET_ACCESS_KEY not in result.out_and_err
    assert storage.SESSION_TOKEN not in result.out_and_err


def test_credentials_mode_corruption_is_an_error(emu, run_cli, remote_env, proxy, app_dir):
    emu.state.configure(upload_mode="credentials", client_s3_endpoint_url=proxy.url)
    proxy.add("PUT", "/apps/", "corrupt")

    result = run_cli("deploy", str(app_dir), "-m", "mangled", env=remote_env)

    assert result.code == 5, result.stderr
    assert "holds different bytes than were sent" in result.stderr
    assert api_calls(emu, r"/deploy$") == []


def test_debug_logging_never_prints_the_credentials(emu, cli_env, remote_env, app_dir):
    """Even with the root logger at DEBUG, boto3/botocore/httpx print no secret."""
    add_payload(app_dir, 6 * MiB)
    emu.state.configure(upload_mode="credentials")
    env = {**cli_env, **remote_env, "MIXPEEK_MULTIPART_THRESHOLD": SMALL_THRESHOLD}
    script = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG); "
        "sys.argv = ['mixpeek', 'deploy', sys.argv[1], '-m', 'logged', '--verbose']; "
        "from mixpeek_cli.cli import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(app_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert proc.returncode == 0, proc.stderr
    assert "Uploading" in proc.stderr
    output = proc.stdout + proc.stderr
    assert storage.SECRET_ACCESS_KEY not in output
    assert storage.SESSION_TOKEN not in output
    assert "Signature=" not in output
    assert API_KEY not in output
