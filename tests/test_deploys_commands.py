"""`deploys status|logs`, and every hint the CLI prints names a command that works."""

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


def test_logs_prints_the_build_log_on_stdout(run_cli, remote_env, app_dir):
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "logged")

    plain = run_cli("deploys", "logs", deploy_id, env=remote_env)
    assert plain.code == 0, plain.stderr
    assert "Validating bundle (index.html, size)..." in plain.stdout
    assert plain.stdout.splitlines()[-1] == "Deploy complete!"
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
    assert followed.stdout.splitlines()[-1] == "Deploy complete!"
    assert "status: complete" in followed.stderr

    emu.state.configure(fail_builds_with="the emulator was told to fail")
    bad = make_deploy(run_cli, remote_env, app_dir, "-m", "doomed", "--no-wait")
    failed = run_cli("deploys", "logs", bad, "--follow", "--json", env=remote_env)
    assert failed.code == 1
    data = json.loads(failed.stdout)
    assert data["status"] == "failed"
    assert any("told to fail" in line for line in data["lines"])


def test_logs_of_a_server_without_a_stream_warns(emu, run_cli, remote_env, app_dir):
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "quiet server")
    emu.state.configure(stream_enabled=False)

    result = run_cli("deploys", "logs", deploy_id, env=remote_env)

    assert result.code == 0
    assert result.stdout == ""
    assert "offers no build log stream" in result.stderr


def test_logs_of_a_running_deploy_prints_its_lines_so_far(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=30)
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "long build", "--no-wait")

    result = run_cli("deploys", "logs", deploy_id, env=remote_env, timeout=30)

    assert result.code == 0, result.stderr
    assert "Deploy complete!" not in result.stdout
    assert f"mixpeek deploys logs {deploy_id} --follow" in result.stderr


def test_status_of_an_unknown_deploy_is_an_api_error(run_cli, remote_env):
    result = run_cli("deploys", "status", "dep_nope", env=remote_env)
    assert result.code == 5
    [line] = result.stderr.splitlines()
    assert "404" in line
    assert line.endswith(
        "check the app id (-a/--app, MIXPEEK_APP_ID or mixpeek.toml) and any id "
        "you gave; mixpeek apps list shows the apps your key can see"
    )
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

    code, _, coloured = stderr_on_a_terminal(env, "deploys", "status", "dep_1")
    assert code == 2  # no app id, no key: the error line is red on a terminal
    assert colour_codes(coloured)

    code, _, plain = stderr_on_a_terminal({**env, "NO_COLOR": "1"}, "deploys", "status", "dep_1")
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


def test_verbose_shows_http_exchanges_without_the_key(emu, run_cli, remote_env, app_dir):
    deploy_id = make_deploy(run_cli, remote_env, app_dir, "-m", "verbose")
    result = run_cli("deploys", "status", deploy_id, "--verbose", env=remote_env)

    assert result.code == 0, result.stderr
    assert "http: " in result.stderr
    assert f"/deploys/{deploy_id}" in result.stderr
    assert "authorization: Bearer ***" in result.stderr
    assert API_KEY not in result.out_and_err
