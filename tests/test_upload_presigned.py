"""The presigned upload path, end to end: the real CLI, the emulator, moto, and a proxy
of the test's own that breaks the PUT the way networks and stores do."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import read_bundle, spawn_cli
from upload_proxy import S3Proxy

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.errors import UploadError
from mixpeek_cli.output.reporter import NullReporter
from mixpeek_cli.service.client import ApiClient
from mixpeek_cli.upload import BundleZip, upload_bundle

MiB = 1024 * 1024


@pytest.fixture
def upload_emu(emu: Emulator) -> Iterator[Emulator]:
    yield emu
    emu.state.configure(expired_urls=0, bad_signature_urls=0, client_s3_endpoint_url=None)


@pytest.fixture
def proxy(upload_emu: Emulator) -> Iterator[S3Proxy]:
    """A proxy in front of moto that the emulator's presigned URLs point at."""
    with S3Proxy(upload_emu.s3_endpoint_url) as p:
        upload_emu.state.configure(client_s3_endpoint_url=p.url)
        yield p


def api_calls(emu: Emulator, pattern: str) -> list[dict[str, Any]]:
    return [r for r in emu.state.requests if re.search(pattern, r["path"])]


def add_payload(app_dir: Path, size: int) -> bytes:
    payload = os.urandom(size)  # incompressible: the zip is at least this big
    (app_dir / "weights.bin").write_bytes(payload)
    return payload


def test_dropped_connection_mid_put_is_retried_from_the_start(
    proxy, upload_emu, run_cli, remote_env, app_dir
):
    payload = add_payload(app_dir, 6 * MiB)
    proxy.add("PUT", "/app-builds/", "drop", after=1 * MiB)

    result = run_cli("deploy", str(app_dir), "-m", "flaky", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    puts = proxy.requests("PUT")
    assert len(puts) == 2
    assert puts[0].body_bytes < data["bundle_bytes"] == puts[1].body_bytes
    assert read_bundle(upload_emu, data["bundle_s3_key"])["weights.bin"] == payload


def test_server_errors_on_the_put_are_retried(proxy, upload_emu, run_cli, remote_env, app_dir):
    proxy.add("PUT", "/app-builds/", "status", times=2, status=503, code="SlowDown")

    result = run_cli("deploy", str(app_dir), "-m", "slow down", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert [e.status for e in proxy.requests("PUT")] == [503, 503, 200]


def test_expired_url_is_renewed_once(upload_emu, run_cli, remote_env, app_dir):
    upload_emu.state.configure(expired_urls=1)

    result = run_cli("deploy", str(app_dir), "-m", "late", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert "the upload URL has expired (AccessDenied: Request has expired)" in result.stderr
    assert len(api_calls(upload_emu, r"/deploy/upload-url$")) == 2
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert "main.py" in read_bundle(upload_emu, key)


def test_bad_signature_is_renewed_once(upload_emu, run_cli, remote_env, app_dir):
    upload_emu.state.configure(bad_signature_urls=1)

    result = run_cli("deploy", str(app_dir), "-m", "resigned", env=remote_env)

    assert result.code == 0, result.stderr
    assert "SignatureDoesNotMatch" in result.stderr
    assert len(api_calls(upload_emu, r"/deploy/upload-url$")) == 2


def test_a_second_expired_url_fails_naming_the_cause_and_creates_no_deploy(
    upload_emu, run_cli, remote_env, app_dir
):
    upload_emu.state.configure(expired_urls=2)

    result = run_cli("deploy", str(app_dir), "-m", "late twice", env=remote_env)

    assert result.code == 5, result.stderr
    assert "refused the bundle upload twice: the upload URL has expired" in result.stderr
    assert "clock" in result.stderr
    assert len(api_calls(upload_emu, r"/deploy/upload-url$")) == 2
    assert api_calls(upload_emu, r"/deploy$") == []
    assert "Traceback" not in result.stderr


def test_bytes_altered_in_transit_fail_the_deploy(proxy, upload_emu, run_cli, remote_env, app_dir):
    proxy.add("PUT", "/app-builds/", "corrupt")

    result = run_cli("deploy", str(app_dir), "-m", "mangled", env=remote_env)

    assert result.code == 5, result.stderr
    assert "S3 stored different bytes than were sent" in result.stderr
    assert api_calls(upload_emu, r"/deploy$") == []


def test_an_etag_that_is_not_the_md5_fails_the_deploy(
    proxy, upload_emu, run_cli, remote_env, app_dir
):
    proxy.add("PUT", "/app-builds/", "etag", etag='"00000000000000000000000000000000"')

    result = run_cli("deploy", str(app_dir), "-m", "liar", env=remote_env)

    assert result.code == 5, result.stderr
    assert "ETag 00000000000000000000000000000000, the zip's MD5" in result.stderr
    assert api_calls(upload_emu, r"/deploy$") == []


def test_the_put_sends_only_the_signed_headers_and_no_key(
    proxy, upload_emu, run_cli, remote_env, app_dir
):
    env = {**remote_env, "MIXPEEK_NAMESPACE": "ns_test"}
    result = run_cli("deploy", str(app_dir), "-m", "headers", "--verbose", env=env)

    assert result.code == 0, result.stderr
    (put,) = proxy.requests("PUT")
    assert put.headers["content-type"] == "application/zip"
    assert int(put.headers["content-length"]) == put.body_bytes > 0
    assert not {"authorization", "x-namespace", "idempotency-key"} & set(put.headers)
    assert not [name for name in put.headers if "mixpeek" in name]
    signature = put.query["X-Amz-Signature"]
    assert signature not in result.out_and_err
    assert remote_env["MIXPEEK_API_KEY"] not in result.out_and_err


def test_expired_urls_are_refused_by_the_emulators_s3(upload_emu):
    upload_emu.state.configure(expired_urls=1)
    with httpx.Client(base_url=upload_emu.base_url, headers={"Authorization": "Bearer k"}) as api:
        body = {"filename": "bundle.zip", "content_type": "application/zip"}
        expired = api.post("/v1/apps/a/deploy/upload-url", json=body).json()
        fresh = api.post("/v1/apps/a/deploy/upload-url", json=body).json()
    headers = {"Content-Type": "application/zip"}
    refused = httpx.put(expired["upload_url"], content=b"abc", headers=headers)
    assert refused.status_code == 403 and "Request has expired" in refused.text
    assert httpx.put(fresh["upload_url"], content=b"abc", headers=headers).status_code == 200
    # A URL past its X-Amz-Expires is refused too, as S3 does.
    url = upload_emu.s3_client().generate_presigned_url(
        "put_object", Params={"Bucket": upload_emu.bucket, "Key": "k"}, ExpiresIn=1
    )
    stale = re.sub(r"X-Amz-Date=\d{8}T", "X-Amz-Date=20200101T", url)
    assert "Request has expired" in httpx.put(stale, content=b"x").text


def test_a_bundle_over_5_gib_is_refused_before_anything_is_sent(upload_emu, tmp_path):
    sparse = tmp_path / "huge.zip"
    with sparse.open("wb") as fh:  # sparse: 5 GiB + 1 byte that take no disk
        fh.truncate(5 * 1024**3 + 1)
    size = sparse.stat().st_size
    with ApiClient(upload_emu.base_url, "k") as api, pytest.raises(UploadError) as caught:
        upload_bundle(
            BundleZip(path=sparse, size=size, sha256="0" * 64),
            api=api,
            app_id="a",
            reporter=NullReporter(),
        )
    assert "over S3's 5 GiB limit" in str(caught.value)
    assert caught.value.exit_code == 5
    assert upload_emu.state.requests == []  # not even an upload URL was asked for
    assert upload_emu.state.s3_requests == []


def test_ctrl_c_during_the_put_exits_130_and_creates_no_deploy(
    proxy, upload_emu, cli_env, remote_env, app_dir
):
    add_payload(app_dir, 6 * MiB)
    proxy.slow_rate = 256 * 1024
    proxy.add("PUT", "/app-builds/", "slow", times=None)
    proc = spawn_cli("deploy", str(app_dir), "-m", "stop", env={**cli_env, **remote_env})
    try:
        assert proxy.slow_started.wait(30), "the upload never started"
        proc.send_signal(signal.SIGINT)
        proxy.slow_rate = None
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()

    assert proc.returncode == 130, stderr
    assert "interrupted during the upload; no deploy was created" in stderr
    assert stdout == ""
    assert api_calls(upload_emu, r"/deploy$") == []
    assert "Traceback" not in stderr
