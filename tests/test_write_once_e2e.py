"""A write that creates something (a deploy, a restore) is never sent twice blindly.

The Idempotency-Key the CLI sends is not published, so the server may ignore it: these
tests put a proxy in front of the emulator that lets the write through (the emulator makes
the deploy) and loses or spoils its answer, as a network or a server in trouble would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import API_KEY
from netfaults import drop, forward, relay, serve

from mixpeek_cli.emulator import Emulator

MAYBE = "the deploy may have been created: check `mixpeek versions list`"


def deploy_posts(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def spoil(status: int, body: bytes, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
    def answer(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return answer


def truncated(request: BaseHTTPRequestHandler) -> None:
    # Promises 200 bytes, sends 12, closes: the answer is cut on the way.
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", "200")
    request.end_headers()
    request.wfile.write(b'{"deploy_id"')
    request.close_connection = True


LOST: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "connection dropped": drop,
    "HTTP 500": spoil(500, b'{"detail": "Internal Server Error"}'),
    "HTTP 502": spoil(502, b"<html><body>Bad Gateway</body></html>", "text/html"),
    "HTTP 504": spoil(504, b"<html><body>Gateway Timeout</body></html>", "text/html"),
    "truncated 200": truncated,
    "non-JSON 200": spoil(200, b"<html>ok</html>", "text/html"),
    "200 without deploy_id": spoil(200, b'{"status": "queued"}'),
}


def proxy_losing(emu: Emulator, path_end: str, lose: Callable[[BaseHTTPRequestHandler], None]):  # type: ignore[no-untyped-def]
    def handle(request: BaseHTTPRequestHandler) -> None:
        response = forward(request, emu.base_url)  # the emulator does the write
        if request.command == "POST" and request.path.endswith(path_end):
            lose(request)
        else:
            relay(request, response)

    return serve(handle)


@pytest.mark.parametrize("fault", list(LOST))
def test_a_deploy_whose_answer_is_lost_is_not_sent_again(emu, run_cli, remote_env, app_dir, fault):
    message = f"once: {fault}"
    with proxy_losing(emu, "/deploy", LOST[fault]) as proxy:
        result = run_cli(
            "deploy",
            str(app_dir),
            "-m",
            message,
            "--json",
            env={**remote_env, "MIXPEEK_BASE_URL": proxy},
        )

    assert result.code == 5, result.stderr
    assert "Traceback" not in result.stderr and API_KEY not in result.out_and_err
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert MAYBE in error, error
    data = json.loads(result.stdout)
    assert data["maybe_created"] is True and data["exit_code"] == 5
    assert len(deploy_posts(emu)) == 1, "sent once, never again"
    assert [d.message for d in emu.state.deploys("app_e2e")].count(message) == 1


def test_a_deploy_whose_answer_stalls_past_the_timeout_is_not_sent_again(
    emu, run_cli, remote_env, app_dir
):
    import threading

    release = threading.Event()

    def stall(request: BaseHTTPRequestHandler) -> None:
        release.wait(60)
        request.close_connection = True

    try:
        with proxy_losing(emu, "/deploy", stall) as proxy:
            started = time.monotonic()
            result = run_cli(
                "deploy",
                str(app_dir),
                "-m",
                "once",
                "--timeout",
                "5",
                env={**remote_env, "MIXPEEK_BASE_URL": proxy},
            )
            elapsed = time.monotonic() - started
            release.set()
    finally:
        release.set()

    assert result.code == 5, result.stderr
    assert elapsed < 8, elapsed
    assert MAYBE in result.stderr
    assert len(deploy_posts(emu)) == 1


def test_a_lost_restore_answer_says_it_may_have_started(emu, run_cli, remote_env, app_dir):
    assert run_cli("deploy", str(app_dir), "-m", "v1", env=remote_env).code == 0
    with proxy_losing(emu, "/restore", drop) as proxy:
        result = run_cli(
            "versions",
            "restore",
            "1",
            "--yes",
            "--json",
            env={**remote_env, "MIXPEEK_BASE_URL": proxy},
        )

    assert result.code == 5, result.stderr
    assert "the restore may have been started: check `mixpeek versions list`" in result.stderr
    assert json.loads(result.stdout)["maybe_created"] is True
    restores = [r for r in emu.state.requests if r["path"].endswith("/restore")]
    assert len(restores) == 1


def test_a_503_stored_nothing_so_the_deploy_is_sent_again(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="POST", path="/deploy$", status=503, retry_after=0.2, times=2)

    result = run_cli("deploy", str(app_dir), "-m", "twice refused", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert [r["status"] for r in deploy_posts(emu)] == [503, 503, 200]
    assert "HTTP 503 from the API; retrying in 0.2 s (2/8)" in result.stderr  # its Retry-After


def test_a_429_waits_the_seconds_its_body_names(emu, run_cli, remote_env, app_dir):
    body = {
        "success": False,
        "status": 429,
        "error": {
            "message": "slow down",
            "type": "TooManyRequestsError",
            "details": {"api_name": "deploy", "retry_after_seconds": 1.5},
        },
    }
    emu.state.add_fault(method="POST", path="/deploy$", status=429, body=body, times=1)

    started = time.monotonic()
    result = run_cli("deploy", str(app_dir), "-m", "later", env=remote_env)

    assert result.code == 0, result.stderr
    assert time.monotonic() - started >= 1.5
    assert [r["status"] for r in deploy_posts(emu)] == [429, 200]


def test_retryable_false_is_never_sent_again(emu, run_cli, remote_env, app_dir):
    body = {
        "success": False,
        "status": 503,
        "error": {
            "message": "maintenance",
            "type": "ServiceUnavailable",
            "details": {"retryable": False},
        },
    }
    emu.state.add_fault(method="POST", path="/deploy$", status=503, body=body, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 5, result.stderr
    assert len(deploy_posts(emu)) == 1
    data = json.loads(result.stdout)
    assert data["maybe_created"] is False  # a 503 stored nothing
    assert "maintenance" in data["error"]


def test_one_garbled_status_answer_is_asked_again(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(
        method="GET",
        path=r"/deploys/[^/]+$",
        status=200,
        body="<html>",
        content_type="text/html",
        times=1,
    )

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 0, result.stderr
    assert "a garbled answer from the API; retrying" in result.stderr


def test_a_verify_upload_not_found_error_is_a_missing_object_not_a_missing_call(
    emu, run_cli, remote_env, app_dir
):
    body = {
        "success": False,
        "status": 404,
        "error": {"message": "no object under that key", "type": "NotFoundError"},
    }
    emu.state.add_fault(method="POST", path="/verify-upload$", status=404, body=body, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 5, result.stderr
    assert "no object under that key (NotFoundError)" in result.stderr
    assert deploy_posts(emu) == []


def test_a_removal_whose_answer_is_lost_is_done_when_the_retry_finds_it_gone(
    emu, run_cli, remote_env
):
    """A DELETE that ran but whose answer was lost is sent again (removing twice removes
    nothing more); the retry's 404 then means the first one did it, not an error."""
    added = run_cli("domains", "add", "www.lost-answer.example", "--json", env=remote_env)
    assert added.code == 0, added.stderr
    lost: list[str] = []

    def handle(request: BaseHTTPRequestHandler) -> None:
        response = forward(request, emu.base_url)  # the emulator removes it
        if request.command == "DELETE" and not lost:
            lost.append(request.path)
            drop(request)
        else:
            relay(request, response)

    with serve(handle) as proxy:
        removed = run_cli(
            "domains", "rm", "www.lost-answer.example", "--yes", "--json",
            env={**remote_env, "MIXPEEK_BASE_URL": proxy},
        )  # fmt: skip
    assert removed.code == 0, removed.stderr
    deletes = [r for r in emu.state.requests if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [lost[0]] * 2  # sent again, answered 404
    listed = run_cli("domains", "list", "--json", env=remote_env)
    assert "www.lost-answer.example" not in listed.stdout
