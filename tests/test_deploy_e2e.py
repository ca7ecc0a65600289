"""The real CLI, as a subprocess, against the emulator over real HTTP and real S3 protocol."""

from __future__ import annotations

import json
import re
import signal
import time

from conftest import API_KEY, APP_ID, git, read_bundle, spawn_cli

from mixpeek_cli.emulator import Emulator

EXPECTED_FILES = {".gitignore", "logo.bin", "main.py", "src/util.py"}


def deploy_requests(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def test_deploy_uploads_the_bundle_and_follows_to_complete(emu, run_cli, remote_env, app_dir):
    result = run_cli("deploy", str(app_dir), "-m", "first deploy", env=remote_env)

    assert result.code == 0, result.stderr
    deploy_id = result.stdout.strip()
    assert re.fullmatch(r"\S+", deploy_id)
    assert result.stdout == deploy_id + "\n"  # stdout holds the result only
    assert "status: complete" in result.stderr
    assert "  | " in result.stderr  # build log lines are shown
    assert API_KEY not in result.out_and_err

    [request] = deploy_requests(emu)
    body = request["json"]
    assert body["message"] == "first deploy"
    assert body["environment"] == "production"
    assert body["source"] == "cli_upload"
    assert body["git_commit_sha"] is None  # app_dir is not in a git repository
    assert body["git_commit_message"] is None
    assert body["git_author"] is None
    assert set(body["source_files"]) == {".gitignore", "main.py", "src/util.py"}
    assert body["source_files"]["main.py"] == (app_dir / "main.py").read_text()
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
        request["headers"]["idempotency-key"],
    )
    assert request["headers"]["authorization"] == "Bearer ***"

    files = read_bundle(emu, body["bundle_s3_key"])
    assert set(files) == EXPECTED_FILES
    assert files["logo.bin"] == (app_dir / "logo.bin").read_bytes()
    assert files["src/util.py"] == (app_dir / "src" / "util.py").read_bytes()


def test_json_output_is_one_object_with_the_documented_fields(emu, run_cli, remote_env, app_dir):
    result = run_cli(
        "deploy", str(app_dir), "-m", "json", "--json", "-e", "staging", env=remote_env
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "app_id",
        "deploy_id",
        "status",
        "environment",
        "message",
        "url",
        "error",
        "bundle_s3_key",
        "bundle_sha256",
        "bundle_bytes",
        "file_count",
        "git_commit_sha",
    ):
        assert key in data
    assert data["app_id"] == APP_ID
    assert data["status"] == "complete"
    assert data["environment"] == "staging"
    assert data["file_count"] == len(EXPECTED_FILES)
    assert data["url"].startswith("https://")
    assert data["bundle_s3_key"].endswith(data["bundle_sha256"] + ".zip")
    assert deploy_requests(emu)[0]["json"]["environment"] == "staging"


def test_git_metadata_comes_from_head_and_message_defaults_to_subject(
    emu, run_cli, remote_env, app_dir, cli_env
):
    git(app_dir, "init", "-q", env=cli_env)
    git(app_dir, "add", "-A", env=cli_env)
    git(app_dir, "commit", "-q", "-m", "Add greeting\n\nLonger body.\n", env=cli_env)
    sha = git(app_dir, "rev-parse", "HEAD", env=cli_env).strip()

    result = run_cli("deploy", str(app_dir), env=remote_env)

    assert result.code == 0, result.stderr
    assert "uncommitted" not in result.stderr
    body = deploy_requests(emu)[0]["json"]
    assert body["message"] == "Add greeting"
    assert body["git_commit_sha"] == sha
    assert body["git_commit_message"] == "Add greeting\n\nLonger body."
    assert body["git_author"] == "Ada Lovelace <ada@example.com>"


def test_uncommitted_changes_are_deployed_with_a_warning(
    emu, run_cli, remote_env, app_dir, cli_env
):
    git(app_dir, "init", "-q", env=cli_env)
    git(app_dir, "add", "-A", env=cli_env)
    git(app_dir, "commit", "-q", "-m", "base", env=cli_env)
    (app_dir / "main.py").write_text("print('edited')\n")

    result = run_cli("deploy", str(app_dir), "--json", env=remote_env)

    assert result.code == 0, result.stderr
    assert "uncommitted changes" in result.stderr
    body = deploy_requests(emu)[0]["json"]
    assert read_bundle(emu, body["bundle_s3_key"])["main.py"] == b"print('edited')\n"


def test_repo_without_commit_needs_a_message(emu, run_cli, remote_env, app_dir, cli_env):
    git(app_dir, "init", "-q", env=cli_env)

    result = run_cli("deploy", str(app_dir), env=remote_env)

    assert result.code == 2
    assert "-m" in result.stderr
    assert result.stdout == ""
    assert emu.state.requests == []


def test_failed_build_exits_1_with_reason_and_log_lines(emu, run_cli, remote_env, app_dir):
    (app_dir / "MIXPEEK_FAIL_BUILD").write_text("tests exploded\n")

    result = run_cli("deploy", str(app_dir), "-m", "broken", env=remote_env)

    assert result.code == 1
    assert result.stdout.strip().startswith("dep_")
    assert "failed: tests exploded" in result.stderr
    # The build log was streamed as it came: each line once, no tail repeated after it.
    streamed = [line for line in result.stderr.splitlines() if line.startswith("  | ")]
    assert streamed and len(streamed) == len(set(streamed))
    assert "last build log lines" not in result.stderr
    assert "full build log: mixpeek deploys logs dep_" in result.stderr


def test_failed_build_with_quiet_still_shows_the_last_log_lines(emu, run_cli, remote_env, app_dir):
    (app_dir / "MIXPEEK_FAIL_BUILD").write_text("tests exploded\n")

    result = run_cli("deploy", str(app_dir), "-m", "broken", "--quiet", env=remote_env)

    assert result.code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: deploy dep_") and "failed: tests exploded" in lines[0]
    assert lines[1] == "last build log lines:"
    assert any(line.startswith("  | ") for line in lines[2:])


def test_no_wait_returns_once_created(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=30)

    result = run_cli(
        "deploy", str(app_dir), "-m", "fire and forget", "--no-wait", "--json", env=remote_env
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "queued"
    assert not [r for r in emu.state.requests if r["method"] == "GET"]


def test_timeout_exits_3_and_says_how_to_check_later(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=60)

    result = run_cli("deploy", str(app_dir), "-m", "slow", "--timeout", "1", env=remote_env)

    assert result.code == 3
    deploy_id = result.stdout.strip()
    assert f"mixpeek deploys status {deploy_id} --wait" in result.stderr

    # The hint names a command that works.
    status = run_cli("deploys", "status", deploy_id, "--json", env=remote_env)
    assert status.code == 0, status.stderr
    assert json.loads(status.stdout)["deploy_id"] == deploy_id


def test_deploys_status_wait_follows_to_the_end(emu, run_cli, remote_env, app_dir):
    emu.state.configure(build_seconds=1.0)
    created = run_cli("deploy", str(app_dir), "-m", "x", "--no-wait", env=remote_env)
    deploy_id = created.stdout.strip()

    result = run_cli("deploys", "status", deploy_id, "--wait", env=remote_env)

    assert result.code == 0, result.stderr
    assert result.stdout == "complete\n"


def test_missing_app_id_or_key_exits_2_before_any_request(emu, run_cli, remote_env, app_dir):
    no_app = {k: v for k, v in remote_env.items() if k != "MIXPEEK_APP_ID"}
    no_key = {k: v for k, v in remote_env.items() if k != "MIXPEEK_API_KEY"}

    missing_app = run_cli("deploy", str(app_dir), "-m", "x", env=no_app)
    missing_key = run_cli("deploy", str(app_dir), "-m", "x", env=no_key)

    assert missing_app.code == 2
    assert "MIXPEEK_APP_ID" in missing_app.stderr and "--app" in missing_app.stderr
    assert missing_key.code == 2
    assert "MIXPEEK_API_KEY" in missing_key.stderr and "--api-key" in missing_key.stderr
    for run in (missing_app, missing_key):
        assert len(run.stderr.strip().splitlines()) == 1
        assert "Traceback" not in run.stderr
    assert emu.state.requests == []


def test_refused_key_exits_4(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="POST", path="/uploads$", status=401, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 4
    assert "refused the key" in result.stderr
    assert API_KEY not in result.out_and_err
    assert not deploy_requests(emu)


def test_api_errors_exit_5_with_the_servers_message(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(
        method="POST",
        path="/deploy$",
        status=404,
        body={
            "success": False,
            "status": 404,
            "error": {"message": "App not found", "type": "NotFoundError", "details": {}},
        },
    )

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 5
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "App not found (NotFoundError)" in error
    assert "Traceback" not in result.stderr


def test_validation_errors_and_html_pages_are_rendered_readably(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(
        method="POST",
        path="/deploy$",
        status=422,
        body={"detail": [{"loc": ["body", "message"], "msg": "Field required", "type": "missing"}]},
    )
    validation = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)
    emu.state.add_fault(
        method="POST",
        path="/uploads$",
        status=400,
        content_type="text/html",
        body="<html><head><title>Bad</title></head><body><h1>400 Bad Request</h1></body></html>",
    )
    html = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert validation.code == 5
    assert "body.message: Field required" in validation.stderr
    assert html.code == 5
    assert "400 Bad Request" in html.stderr and "<h1>" not in html.stderr


def test_status_polls_survive_five_consecutive_server_errors(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="GET", path=r"/deploys/[^/]+$", status=503, retry_after=0, times=3)
    emu.state.add_fault(method="GET", path=r"/deploys/[^/]+$", status=502, times=2)

    result = run_cli("deploy", str(app_dir), "-m", "flaky", env=remote_env)

    assert result.code == 0, result.stderr
    statuses = [
        r["status"]
        for r in emu.state.requests
        if r["method"] == "GET" and re.search(r"/deploys/[^/]+$", r["path"])
    ]
    assert statuses[:5] == [503, 503, 503, 502, 502]
    assert statuses[-1] == 200


def test_already_uploaded_bundle_is_not_uploaded_again(emu, run_cli, remote_env, app_dir):
    # The emulator is shared by the session: make this tree's bundle one it has never seen.
    (app_dir / "unique.txt").write_text(f"{time.time_ns()}\n")
    first = run_cli("deploy", str(app_dir), "-m", "one", "--json", env=remote_env)
    second = run_cli("deploy", str(app_dir), "-m", "two", "--json", env=remote_env)

    assert first.code == 0 and second.code == 0, second.stderr
    assert json.loads(first.stdout)["already_uploaded"] is False
    assert json.loads(second.stdout)["already_uploaded"] is True
    assert "skipping the upload" in second.stderr
    assert json.loads(first.stdout)["bundle_sha256"] == json.loads(second.stdout)["bundle_sha256"]


def test_upload_with_temporary_credentials(emu, run_cli, remote_env, app_dir):
    emu.state.configure(upload_mode="credentials")
    (app_dir / "creds-mode.txt").write_text("uploaded with boto3\n")

    result = run_cli("deploy", str(app_dir), "-m", "creds", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    key = json.loads(result.stdout)["bundle_s3_key"]
    assert read_bundle(emu, key)["creds-mode.txt"] == b"uploaded with boto3\n"


def test_server_without_logs_is_asked_once(emu, run_cli, remote_env, app_dir):
    emu.state.configure(logs_enabled=False, build_seconds=0.8)

    result = run_cli("deploy", str(app_dir), "-m", "nologs", env=remote_env)

    assert result.code == 0, result.stderr
    log_calls = [r for r in emu.state.requests if r["path"].endswith("/logs")]
    assert len(log_calls) == 1
    assert log_calls[0]["status"] == 404


def test_dry_run_makes_no_network_call(run_cli, app_dir):
    result = run_cli(
        "deploy",
        str(app_dir),
        "-m",
        "check",
        "--dry-run",
        "--json",
        env={"MIXPEEK_BASE_URL": "http://127.0.0.1:9"},
    )

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["dry_run"] is True
    assert data["deploy_id"] is None
    assert data["file_count"] == len(EXPECTED_FILES)
    assert data["source_files_count"] == 3
    assert data["largest_files"][0]["path"] == "logo.bin"
    assert len(data["bundle_sha256"]) == 64


def test_dry_run_human_summary(run_cli, app_dir):
    result = run_cli("deploy", str(app_dir), "-m", "check", "--dry-run")

    assert result.code == 0, result.stderr
    assert "files: 4" in result.stdout
    assert "logo.bin" in result.stdout
    assert "nothing was uploaded" in result.stderr


def test_bundle_command_writes_the_same_zip(run_cli, app_dir, tmp_path):
    out = tmp_path / "out.zip"

    result = run_cli("bundle", str(app_dir), "-o", str(out), "--json")
    dry = run_cli("deploy", str(app_dir), "-m", "x", "--dry-run", "--json")

    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    import hashlib
    import zipfile

    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert summary["sha256"] == json.loads(dry.stdout)["bundle_sha256"]
    assert set(zipfile.ZipFile(out).namelist()) == EXPECTED_FILES


def test_bad_path_and_bad_flags_exit_2(run_cli, tmp_path, remote_env):
    missing = run_cli("deploy", str(tmp_path / "nope"), "-m", "x", env=remote_env)
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    not_dir = run_cli("deploy", str(a_file), "-m", "x", env=remote_env)
    bad_env = run_cli("deploy", str(tmp_path), "-m", "x", "-e", "qa", env=remote_env)
    bad_flag = run_cli("deploy", "--no-such-flag")
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("deploy", str(empty), "-m", "x", env=remote_env)

    assert (missing.code, not_dir.code, bad_env.code, bad_flag.code, nothing.code) == (2,) * 5
    assert "does not exist" in missing.stderr
    assert "not a directory" in not_dir.stderr
    assert "staging or production" in bad_env.stderr
    assert "nothing to deploy" in nothing.stderr
    for run in (missing, not_dir, bad_env, nothing):
        assert "Traceback" not in run.stderr
        assert run.stdout == ""


def test_connection_refused_exits_5_after_retries(run_cli, app_dir, remote_env):
    env = {**remote_env, "MIXPEEK_BASE_URL": "http://127.0.0.1:9"}

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=env, timeout=120)

    assert result.code == 5
    assert "cannot connect" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == 5


def test_project_file_supplies_app_id_and_environment(emu, run_cli, remote_env, app_dir):
    (app_dir / "mixpeek.toml").write_text('app_id = "from_file"\nenvironment = "staging"\n')
    env = {k: v for k, v in remote_env.items() if k != "MIXPEEK_APP_ID"}

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["app_id"], data["environment"]) == ("from_file", "staging")
    assert deploy_requests(emu)[0]["path"] == "/v1/apps/from_file/deploy"


def test_ctrl_c_while_waiting_exits_130_and_names_the_deploy(emu, cli_env, remote_env, app_dir):
    emu.state.configure(build_seconds=60)
    proc = spawn_cli("deploy", str(app_dir), "-m", "x", env={**cli_env, **remote_env})
    deadline = time.monotonic() + 30
    while not deploy_requests(emu) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    deploy_id = stdout.strip()
    assert deploy_id.startswith("dep_")
    assert f"mixpeek deploys status {deploy_id} --wait" in stderr
    assert "Traceback" not in stderr


def test_local_flag_deploys_to_an_embedded_emulator(run_cli, app_dir):
    result = run_cli("deploy", "--local", str(app_dir), "-m", "try it", "--json", timeout=90)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "complete"
    assert "local emulator running at http://127.0.0.1:" in result.stderr


def test_large_bundle_goes_multipart_with_credentials(emu, run_cli, remote_env, app_dir):
    import os

    emu.state.configure(upload_mode="credentials")
    payload = os.urandom(12 * 1024 * 1024)  # incompressible: the zip passes the 8 MiB threshold
    (app_dir / "weights.bin").write_bytes(payload)

    result = run_cli("deploy", str(app_dir), "-m", "big", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    key = json.loads(result.stdout)["bundle_s3_key"]
    head = emu.s3_client().head_object(Bucket=emu.bucket, Key=key)
    assert "-" in head["ETag"]  # a multipart ETag is "<md5 of md5s>-<parts>"
    assert read_bundle(emu, key)["weights.bin"] == payload


def test_deploy_against_the_emulator_command(cli_env, run_cli, app_dir):
    proc = spawn_cli("emulator", "--port", "0", "--build-seconds", "0.5", env=cli_env)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        env = {"MIXPEEK_BASE_URL": base_url, "MIXPEEK_API_KEY": "k", "MIXPEEK_APP_ID": "demo"}

        result = run_cli("deploy", str(app_dir), "-m", "against emulator", env=env)
        (app_dir / "MIXPEEK_FAIL_BUILD").write_text("made to fail\n")
        failed = run_cli("deploy", str(app_dir), "-m", "broken", env=env)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)

    assert result.code == 0, result.stderr
    assert failed.code == 1
    assert "made to fail" in failed.stderr
    assert proc.returncode == 0
