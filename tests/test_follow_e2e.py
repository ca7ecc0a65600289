"""Following a deploy over the real log stream: every line once and in order, whatever the
stream does (drops, stalls, never says done), and the end noticed by the status polls."""

from __future__ import annotations

import json
import time

from conftest import API_KEY, APP_ID, server_log
from netfaults import serve

from mixpeek_cli.emulator import Emulator


def shown_lines(stderr: str) -> list[str]:
    return [line[4:] for line in stderr.splitlines() if line.startswith("  | ")]


def streams(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in emu.state.requests if r["path"].endswith("/logs/stream")]


def test_a_cut_stream_is_reopened_and_no_line_is_shown_twice(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=1.2, stream_cut_after=2, stream_cuts=3)

    result = run_cli("deploy", str(app_dir), "-m", "cut", "-v", env=remote_env)

    assert result.code == 0, result.stderr
    assert len(streams(emu)) >= 4  # three cut connections, then one that said done
    assert "log stream dropped" in result.stderr
    deploy_id = result.stdout.strip()
    emu.state.configure(stream_cut_after=None)
    assert shown_lines(result.stderr) == server_log(emu, deploy_id)


def test_a_stalled_stream_still_ends_on_the_final_status(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=0.5, stream_stall_after=1)

    started = time.monotonic()
    result = run_cli("deploy", str(app_dir), "-m", "stall", "--json", env=remote_env)
    took = time.monotonic() - started

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "complete"
    # Polls every 0.1 s see the end; the stream then gets its few seconds of grace.
    assert took < 20
    shown = shown_lines(result.stderr)
    emu.state.configure(stream_stall_after=None)
    full = server_log(emu, json.loads(result.stdout)["deploy_id"])
    assert shown == full[:1]


def test_a_stream_that_never_says_done_ends_within_the_grace(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=0.5, stream_cut_after=100, stream_cuts=1000)

    result = run_cli("deploy", str(app_dir), "-m", "no done", env=remote_env)

    assert result.code == 0, result.stderr
    deploy_id = result.stdout.strip()
    shown = shown_lines(result.stderr)
    emu.state.configure(stream_cut_after=None)
    assert shown == server_log(emu, deploy_id)[: len(shown)]
    assert len(shown) == len(set(shown))
    assert "status: complete" in result.stderr


def test_a_failed_build_shows_its_whole_log_once_then_the_error(emu, run_cli, remote_env, app_dir):
    emu.state.configure(fail_builds_with="Bundle has no index.html")

    result = run_cli("deploy", str(app_dir), "-m", "broken", env=remote_env)

    assert result.code == 1
    lines = result.stderr.splitlines()
    assert shown_lines(result.stderr)[-1] == "Deploy failed: Bundle has no index.html"
    last_log = max(i for i, line in enumerate(lines) if line.startswith("  | "))
    error = next(i for i, line in enumerate(lines) if line.startswith("error:"))
    assert last_log < error  # the log that explains it comes first
    assert "failed: Bundle has no index.html" in lines[error]


def sse_server(events: list[bytes]):  # type: ignore[no-untyped-def]
    """A stream-only API: status `complete`, and a log stream of exactly ``events``."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.path.endswith("/logs/stream"):
            request.send_response(200)
            request.send_header("Content-Type", "text/event-stream")
            request.end_headers()
            for chunk in events:
                request.wfile.write(chunk)
                request.wfile.flush()
            return
        body = json.dumps(
            {"deploy_id": "dep_1", "status": "complete", "environment": "production"}
        ).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return serve(handle)


def test_stream_events_of_other_shapes_are_read_as_sse(run_cli, remote_env):
    events = [
        b": a comment, as keep-alives are sent\n\n",
        b'data: {"ts": 1.0, "line": "first"}\n\n',
        b"event: heartbeat\ndata: {}\n\n",
        b'data: {"ts": 2.0, "line": "second"}\ndata: {"ts": 3.0, "line": "third"}\n\n',
        b'data: {"ts": 4.0, "li',  # one event split across writes
        b'ne": "fourth"}\r\n\r\n',
        b"data: not json at all\n\n",
        b"event: done\ndata: {}\n\n",
    ]
    with sse_server(events) as base:
        env = {**remote_env, "MIXPEEK_BASE_URL": base}
        result = run_cli("deploys", "logs", "dep_1", env=env)

    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == ["first", "second", "third", "fourth", "not json at all"]
    assert API_KEY not in result.out_and_err


def test_deploys_logs_replays_a_finished_deploy_and_follow_ends_with_its_code(
    emu, run_cli, remote_env, app_dir
):
    created = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)
    deploy_id = created.stdout.strip()

    whole = run_cli("deploys", "logs", deploy_id, env=remote_env)
    as_json = run_cli("deploys", "logs", deploy_id, "--json", env=remote_env)

    assert whole.code == 0, whole.stderr
    assert whole.stdout.splitlines() == server_log(emu, deploy_id, APP_ID)
    data = json.loads(as_json.stdout)
    assert data["lines"] == whole.stdout.splitlines() and data["status"] == "complete"
