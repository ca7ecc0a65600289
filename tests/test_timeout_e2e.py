"""--timeout bounds the whole command: every connect, read, retry wait, upload, download and
follow, whatever the server does (stalls, a long Retry-After)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import API_KEY, APP_ID
from netfaults import answer_json, drop, forward, read_body, relay, serve, stall

TIMEOUT = 3
# The wall time a --timeout case may take: the timeout, plus start-up and clean-up.
MARGIN = 3


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def api_env(base_url: str) -> dict[str, str]:
    return {"MIXPEEK_BASE_URL": base_url, "MIXPEEK_API_KEY": API_KEY, "MIXPEEK_APP_ID": APP_ID}


def timed(run_cli, *args: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = run_cli(*args, "--timeout", str(TIMEOUT), env=env)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + MARGIN, (elapsed, result.stderr)
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.out_and_err
    return result


def error_line(stderr: str) -> str:
    [line] = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize(
    "args",
    [
        ["deploy", "-m", "x"],
        ["apps", "list"],
        ["whoami"],
        ["versions", "list"],
        ["deploys", "status", "dep_x"],
        ["logs"],
    ],
)
def test_a_stalled_api_answer_ends_at_the_timeout(run_cli, app_dir, release, args):
    with serve(lambda request: stall(request, release)) as api:
        if args[0] == "deploy":
            args = [*args, str(app_dir)]
        result = timed(run_cli, *args, env=api_env(api))

    assert result.code in (4, 5), result.stderr  # whoami's check is exit 4 or 5
    assert "--timeout" in error_line(result.stderr)


class FakeUpload:
    """The API's upload-url answered by the test, its PUT going to ``put`` here."""

    def __init__(self, put, release: threading.Event) -> None:  # type: ignore[no-untyped-def]
        self.put = put
        self.release = release
        self.paths: list[str] = []

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        self.paths.append(f"{request.command} {request.path}")
        if request.path.endswith("/deploy/upload-url"):
            read_body(request)
            base = f"http://127.0.0.1:{request.server.server_address[1]}"
            key = f"app-builds/{APP_ID}/t/bundle.zip"
            answer_json(request, 200, {"upload_url": f"{base}/s3/put", "bundle_s3_key": key})
        elif request.path == "/s3/put":
            self.put(request)
        elif request.path.startswith(f"/v1/apps/{APP_ID}") and request.command == "GET":
            answer_json(request, 200, {"app_id": APP_ID, "slug": "app-e2e"})
        else:
            answer_json(request, 500, {"error": {"message": "unexpected", "type": "Test"}})


def test_a_stalled_put_ends_at_the_timeout(run_cli, app_dir, release):
    fake = FakeUpload(lambda request: stall(request, release), release)
    with serve(fake) as api:
        result = timed(run_cli, "deploy", str(app_dir), "-m", "x", env=api_env(api))

    assert result.code == 5, result.stderr
    assert f"the upload did not finish before --timeout ({TIMEOUT}s) ran out" in error_line(
        result.stderr
    )
    assert not [p for p in fake.paths if p.endswith("/deploy")], fake.paths


def test_s3_503_with_a_long_retry_after_ends_at_the_timeout(run_cli, app_dir, release):
    def busy(request: BaseHTTPRequestHandler) -> None:
        read_body(request)
        body = b"<Error><Code>SlowDown</Code><Message>busy</Message></Error>"
        request.send_response(503)
        request.send_header("Retry-After", "40")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    fake = FakeUpload(busy, release)
    with serve(fake) as api:
        result = timed(run_cli, "deploy", str(app_dir), "-m", "x", env=api_env(api))

    assert result.code == 5, result.stderr
    line = error_line(result.stderr)
    assert "SlowDown" in line and f"--timeout ({TIMEOUT}s)" in line, line
    assert [p for p in fake.paths if p.startswith("PUT")] == ["PUT /s3/put"]


def test_a_stalled_status_poll_while_following_exits_3_with_the_id(emu, run_cli, app_dir, release):
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path.endswith("/logs/stream"):
            answer_json(request, 404, {"detail": "Not Found"})  # follow by polls alone
        elif request.command == "GET" and "/deploys/" in request.path:
            stall(request, release)
        else:
            relay(request, forward(request, emu.base_url))

    with serve(handle) as proxy:
        result = timed(run_cli, "deploy", str(app_dir), "-m", "x", "--json", env=api_env(proxy))

    assert result.code == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["timed_out"] is True and data["deploy_id"].startswith("dep_")
    assert f"mixpeek deploys status {data['deploy_id']} --wait" in result.stderr


def test_a_version_download_that_stalls_ends_at_the_timeout(run_cli, tmp_path, release):
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path.endswith("/versions/3/download"):
            base = f"http://127.0.0.1:{request.server.server_address[1]}"
            answer_json(request, 200, {"download_url": f"{base}/s3/v3.zip", "version": 3})
        elif request.path == "/s3/v3.zip":
            # Headers, a first byte, then nothing: only the deadline ends it.
            request.send_response(200)
            request.send_header("Content-Length", "1000")
            request.end_headers()
            request.wfile.write(b"P")
            request.wfile.flush()
            stall(request, release)
        else:
            drop(request)

    with serve(handle) as api:
        out = tmp_path / "v3.zip"
        result = timed(run_cli, "versions", "download", "3", "-o", str(out), env=api_env(api))

    assert result.code == 5, result.stderr
    assert f"the download did not finish before --timeout ({TIMEOUT}s) ran out" in result.stderr
    assert list(tmp_path.iterdir()) == [], "a cut download leaves nothing behind"


def test_an_unreachable_api_says_each_retry_and_ends_at_the_timeout(run_cli, app_dir):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        result = timed(
            run_cli, "deploy", str(app_dir), "-m", "x", env=api_env(f"http://127.0.0.1:{port}")
        )

    assert result.code == 5, result.stderr
    notices = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert notices and notices[0].startswith("warning: cannot connect to the API; retrying in")
    assert notices[0].endswith("(2/8)")
    assert "cannot connect" in error_line(result.stderr)


def test_a_build_still_running_at_the_timeout_is_stopped(run_cli, app_dir, release):
    seen: list[str] = []

    def api(request: BaseHTTPRequestHandler) -> None:
        seen.append(request.path)
        drop(request)

    marker = app_dir / "build-started"
    build = f"touch {marker.name} && sleep 60 && echo never"
    with serve(api) as base:
        result = timed(
            run_cli,
            "deploy",
            str(app_dir),
            "-m",
            "x",
            "--build-command",
            build,
            env=api_env(base),
        )

    assert marker.exists(), result.stderr
    assert result.code == 2, result.stderr
    assert f"was still running when --timeout ({TIMEOUT}s) ran out: stopped; nothing was sent" in (
        error_line(result.stderr)
    )
    assert seen == []
    leftover = subprocess.run(["pgrep", "-f", "sleep 60 && echo never"], capture_output=True)
    assert leftover.stdout == b"", "the build's processes are gone"
