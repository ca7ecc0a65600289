"""The build log stream from a server that misbehaves: lines of any length, CR/LF of any
kind, a replay that stalls or ends without ``done``. Memory stays flat, the command ends."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import API_KEY, APP_ID
from netfaults import answer_json, serve

from mixpeek_cli.service.models import MAX_LOG_LINE, parse_log_data
from mixpeek_cli.service.sse import ServerSentEvent, iter_events


def events(*chunks: bytes, max_line: int = 1 << 20) -> list[ServerSentEvent]:
    return list(iter_events(chunks, max_line=max_line))


def test_lines_end_in_lf_crlf_or_cr_even_across_chunks():
    assert events(b"data: a\r", b"\ndata: b\r\r", b"data: c\n", b"\n") == [
        ServerSentEvent("message", "a\nb"),
        ServerSentEvent("message", "c"),
    ]


def test_named_events_comments_and_other_fields():
    got = events(b": keep-alive\n\nid: 7\nretry: 10\ndata:x\n\nevent: done\ndata: {}\n\n")
    assert got == [ServerSentEvent("message", "x"), ServerSentEvent("done", "{}")]


def test_a_line_over_the_cap_keeps_its_start_and_counts_the_rest():
    got = events(b"data: " + b"a" * 50, b"b" * 100, b"\n\ndata: next\n\n", max_line=40)
    assert got == [
        ServerSentEvent("message", "a" * 34, cut_bytes=116),
        ServerSentEvent("message", "next"),
    ]


def test_an_unfinished_last_event_is_no_event():
    assert events(b"data: half") == []


def test_a_long_log_line_is_shown_cut_with_what_was_left_out():
    [line] = parse_log_data('{"line": "' + "x" * (MAX_LOG_LINE + 10) + '"}')
    assert line.line == "x" * MAX_LOG_LINE + "... [10 characters of this line not shown]"
    [cut] = parse_log_data('{"ts": 1, "line": "abc', cut_bytes=5)
    assert cut.line.endswith("[5 bytes or more of this line not shown]")


HUGE = 512 << 20  # the case: a 512 MiB "line" with no newline


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_512_mib_log_line_leaves_memory_flat(cli_env):
    sent = threading.Event()  # the build is "complete" once the whole log went out

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path.endswith("/logs/stream"):
            request.send_response(200)
            request.send_header("Content-Type", "text/event-stream")
            request.end_headers()
            request.wfile.write(b'data: {"line": "before"}\n\ndata: {"ts": 1, "line": "')
            block = b"A" * (1 << 20)
            for _ in range(HUGE >> 20):
                request.wfile.write(block)
            request.wfile.write(b'"}\n\ndata: {"line": "after"}\n\nevent: done\ndata: {}\n\n')
            request.close_connection = True
            sent.set()
        else:
            status = "complete" if sent.is_set() else "building"
            body = {"deploy_id": "dep_big", "status": status, "environment": "production"}
            answer_json(request, 200, body)

    def limit() -> None:
        # The CLI would need GBs to hold the line; 1 GiB of address space is plenty for it.
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    with serve(handle) as api:
        env = {**cli_env, "MIXPEEK_BASE_URL": api, "MIXPEEK_API_KEY": API_KEY}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mixpeek_cli",
                "deploys",
                "logs",
                "dep_big",
                "--follow",
                "-a",
                APP_ID,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limit,
        )

    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "before" and lines[-1] == "after"
    assert lines[1].endswith("bytes or more of this line not shown]")
    assert len(lines[1]) < MAX_LOG_LINE + 100


def test_a_finished_deploy_whose_replay_stalls_ends_after_a_grace(
    emu, run_cli, remote_env, app_dir
):
    deploy_id = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env).stdout.strip()
    emu.state.configure(stream_stall_after=1)

    started = time.monotonic()
    result = run_cli("deploys", "logs", deploy_id, env=remote_env)

    assert result.code == 0, result.stderr
    assert time.monotonic() - started < 10
    assert len(result.stdout.splitlines()) == 1
    assert "the log above may be incomplete" in result.stderr


def test_a_finished_deploy_whose_replay_ends_without_done_ends_after_a_grace(
    emu, run_cli, remote_env, app_dir
):
    deploy_id = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env).stdout.strip()
    emu.state.configure(stream_cut_after=2, stream_cuts=100)

    started = time.monotonic()
    result = run_cli("deploys", "logs", deploy_id, env=remote_env)

    assert result.code == 0, result.stderr
    assert time.monotonic() - started < 10
    assert len(result.stdout.splitlines()) == 2, "each line once, across the reconnects"
    assert "the log above may be incomplete" in result.stderr
