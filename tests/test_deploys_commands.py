"""`deploys list|status|logs`, and every hint the CLI prints names a command that works."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from conftest import API_KEY, CliRun, spawn_cli


def make_deploy(run_cli, env, app_dir, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = run_cli("deploy", str(app_dir), *args, env=env)
    assert result.code in (0, 1), result.stderr
    return str(result.stdout.strip())


def hinted_command(text: str) -> list[str]:
    """The `mixpeek ...` command a hint names, as argv (without `mixpeek`)."""
    match = re.search(r"mixpeek (deploys [a-z]+ \S+(?: --wait)?)", text)
    assert match, text
    return shlex.split(match.group(1))


def run_hint(run_cli, text: str, env) -> CliRun:  # type: ignore[no-untyped-def]
    return run_cli(*hinted_command(text), env=env)  # type: ignore[no-any-return]


def fresh_app(remote_env: dict[str, str]) -> dict[str, str]:
    """The shared emulator keeps every deploy: list those of an app no other test used."""
    import uuid

    return {**remote_env, "MIXPEEK_APP_ID": f"app_{uuid.uuid4().hex[:12]}"}


def test_list_prints_newest_first_as_json_and_lines(run_cli, remote_env, app_dir):
    remote_env = fresh_app(remote_env)
    first = make_deploy(run_cli, remote_env, app_dir, "-m", "one", "-e", "staging")
    second = make_deploy(run_cli, remote_env, app_dir, "-m", "two\nlines", "-e", "production")

    as_json = run_cli("deploys", "list", "--json", env=remote_env)
    assert as_json.code == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert [d["deploy_id"] for d in data] == [second, first]
    assert data[0]["status"] == "complete"
    assert set(data[0]) >= {"deploy_id", "status", "environment", "message", "created_at", "url"}

    lines = run_cli("deploys", "list", env=remote_env)
    assert lines.code == 0, lines.stderr
    rows = [line.split("\t") for line in lines.stdout.splitlines()]
    assert [row[:3] for row in rows] == [
        [second, "complete", "production"],
        [first, "complete", "staging"],
    ]
    assert rows[0][4] == "two lines"  # one deploy per line, whatever its message
    assert re.fullmatch(r"\d+[smhd] ago|just now", rows[0][3])

    staging = run_cli("deploys", "list", "-e", "staging", "--limit", "5", "--json", env=remote_env)
    assert [d["deploy_id"] for d in json.loads(staging.stdout)] == [first]
    one = run_cli("deploys", "list", "--limit", "1", "--json", env=remote_env)
    assert [d["deploy_id"] for d in json.loads(one.stdout)] == [second]


def test_list_rejects_bad_flags_before_any_request(emu, run_cli, remote_env):
    bad_env = run_cli("deploys", "list", "-e", "qa", env=remote_env)
    assert bad_env.code == 2
    bad_limit = run_cli("deploys", "list", "--limit", "0", env=remote_env)
    assert bad_limit.code == 2
    assert emu.state.requests == []


def test_list_draws_a_table_on_a_terminal(emu, cli_env, remote_env, run_cli, app_dir):
    remote_env = fresh_app(remote_env)
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "table me")
    import os

    master, slave = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mixpeek_cli", "deploys", "list"],
            env={**cli_env, **remote_env},
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.decode())  # bold headers are not colour
    assert proc.returncode == 0
    assert re.search(r"ID\s+STATUS\s+ENVIRONMENT\s+AGE\s+MESSAGE", text), text
    assert deploy_id in text and "table me" in text
    assert "\t" not in text


def test_logs_prints_the_build_log_on_stdout(run_cli, remote_env, app_dir):
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "logged")

    plain = run_cli("deploys", "logs", deploy_id, env=remote_env)
    assert plain.code == 0, plain.stderr
    assert "installing dependencies" in plain.stdout
    assert "  | " not in plain.stdout  # raw lines, not the progress decoration

    as_json = run_cli("deploys", "logs", deploy_id, "--json", env=remote_env)
    data = json.loads(as_json.stdout)
    assert data["deploy_id"] == deploy_id
    assert data["lines"] == plain.stdout.splitlines()


def test_logs_follow_streams_until_final_with_the_deploy_exit_code(
    emu, run_cli, remote_env, app_dir
):
    ok = make_deploy(run_cli, remote_env, app_dir, "-m", "later", "--no-wait")
    followed = run_cli("deploys", "logs", ok, "--follow", env=remote_env)
    assert followed.code == 0, followed.stderr
    assert "packaging app" in followed.stdout
    assert "status: complete" in followed.stderr

    emu.state.configure(fail_builds_with="the emulator was told to fail")
    bad = make_deploy(run_cli, remote_env, app_dir, "-m", "doomed", "--no-wait")
    failed = run_cli("deploys", "logs", bad, "--follow", "--json", env=remote_env)
    assert failed.code == 1
    data = json.loads(failed.stdout)
    assert data["status"] == "failed"
    assert any("told to fail" in line for line in data["lines"])


def test_logs_of_a_server_without_logs_warns(emu, run_cli, remote_env, app_dir):
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "quiet server")
    emu.state.configure(logs_enabled=False)

    result = run_cli("deploys", "logs", deploy_id, env=remote_env)

    assert result.code == 0
    assert result.stdout == ""
    assert "keeps no build logs" in result.stderr


def test_status_of_an_unknown_deploy_is_an_api_error(run_cli, remote_env):
    result = run_cli("deploys", "status", "dep_nope", env=remote_env)
    assert result.code == 5
    assert "404" in result.stderr
    assert API_KEY not in result.out_and_err


def test_the_no_wait_hint_runs(run_cli, remote_env, app_dir):
    created = run_cli("deploy", str(app_dir), "-m", "async", "--no-wait", env=remote_env)
    assert created.code == 0, created.stderr

    hinted = run_hint(run_cli, created.stderr, remote_env)

    assert hinted_command(created.stderr) == ["deploys", "status", created.stdout.strip(), "--wait"]
    assert hinted.code == 0, hinted.stderr
    assert hinted.stdout == "complete\n"


def test_the_timeout_hint_runs(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=3)
    timed_out = run_cli("deploy", str(app_dir), "-m", "slow", "--timeout", "0.5", env=remote_env)
    assert timed_out.code == 3, timed_out.stderr

    hinted = run_hint(run_cli, timed_out.stderr, remote_env)

    assert hinted.code == 0, hinted.stderr
    assert hinted.stdout == "complete\n"
    # `deploys status --wait` gives the same hint when it times out too.
    emu.state.configure(build_seconds=3)
    again = make_deploy(run_cli, remote_env, app_dir, "-m", "slow", "--no-wait")
    status = run_cli("deploys", "status", again, "--wait", "--timeout", "0.5", env=remote_env)
    assert status.code == 3
    assert run_hint(run_cli, status.stderr, remote_env).code == 0


def test_the_failure_hint_runs(emu, run_cli, remote_env, app_dir):
    (app_dir / "MIXPEEK_FAIL_BUILD").write_text("broken on purpose\n")
    failed = run_cli("deploy", str(app_dir), "-m", "fail", env=remote_env)
    assert failed.code == 1

    command = hinted_command(failed.stderr.split("full build log:")[1])
    hinted = run_cli(*command, env=remote_env)

    assert command == ["deploys", "logs", failed.stdout.strip()]
    assert hinted.code == 0, hinted.stderr
    assert "broken on purpose" in hinted.stdout
    status = run_cli("deploys", "status", failed.stdout.strip(), env=remote_env)
    assert status.code == 1
    assert "full build log: mixpeek deploys logs" in status.stderr


def test_the_ctrl_c_hint_runs(emu, cli_env, remote_env, run_cli, app_dir: Path):
    emu.state.configure(build_seconds=2)
    proc = spawn_cli("deploy", str(app_dir), "-m", "x", env={**cli_env, **remote_env})
    # Interrupt once the CLI has said the deploy exists (it is following it then).
    assert proc.stderr is not None
    seen = ""
    while "created (" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=30)
    stderr = seen + rest
    assert proc.returncode == 130, stderr

    hinted = run_hint(run_cli, stderr, remote_env)

    assert hinted_command(stderr)[2] == stdout.strip()
    assert hinted.code == 0, hinted.stderr
    assert hinted.stdout == "complete\n"


def stderr_on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal; return (code, stdout, stderr)."""
    import os

    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mixpeek_cli", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
        )
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            err += chunk
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return proc.returncode, stdout, err.decode("utf-8", "replace")


def colour_codes(text: str) -> list[str]:
    """SGR parameters that set a foreground or background colour."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107):
                found.append(p)
    return found


def test_no_color_turns_colour_off_on_a_terminal(cli_env):
    env = {k: v for k, v in cli_env.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"

    code, _, coloured = stderr_on_a_terminal(env, "deploys", "list")
    assert code == 2  # no app id, no key: the error line is red on a terminal
    assert colour_codes(coloured)

    code, _, plain = stderr_on_a_terminal({**env, "NO_COLOR": "1"}, "deploys", "list")
    assert code == 2
    assert "error: no app id" in plain
    assert colour_codes(plain) == []


def test_term_dumb_gives_plain_lines_on_a_terminal(emu, cli_env, remote_env, app_dir):
    env = {**cli_env, **remote_env, "TERM": "dumb"}

    code, stdout, stderr = stderr_on_a_terminal(env, "deploy", str(app_dir), "-m", "dumb")

    assert code == 0, stderr
    assert "status: complete" in stderr
    assert "\x1b" not in stderr
    assert stdout.strip().startswith("dep_")


def test_quiet_prints_errors_only(emu, run_cli, remote_env, app_dir):
    ok = run_cli("deploy", str(app_dir), "-m", "quiet", "--quiet", env=remote_env)
    assert ok.code == 0
    assert ok.stderr == ""
    assert ok.stdout.startswith("dep_")

    (app_dir / "MIXPEEK_FAIL_BUILD").write_text("quietly broken\n")
    failed = run_cli("deploy", str(app_dir), "-m", "quiet", "--quiet", env=remote_env)
    assert failed.code == 1
    assert "quietly broken" in failed.stderr
    assert "status:" not in failed.stderr  # no progress, only the error


def test_verbose_shows_http_exchanges_without_the_key(emu, run_cli, remote_env):
    result = run_cli("deploys", "list", "--verbose", env=remote_env)

    assert result.code == 0, result.stderr
    assert "http: " in result.stderr
    assert "/deploys" in result.stderr
    assert API_KEY not in result.out_and_err
