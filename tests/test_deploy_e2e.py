"""The real CLI, as a subprocess, against the emulator over real HTTP and real S3 protocol."""

from __future__ import annotations

import json
import re
import signal
import time

from conftest import API_KEY, APP_ID, calls, git, read_bundle, server_log, spawn_cli

from mixpeek_cli.emulator import Emulator

EXPECTED_FILES = {".gitignore", "index.html", "logo.bin", "main.py", "src/util.py"}
DEPLOY_FIELDS = {
    "message",
    "environment",
    "source",
    "bundle_s3_key",
    "source_files",
    "git_commit_sha",
    "git_commit_message",
    "git_author",
}


def deploy_requests(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r for r in emu.state.requests if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


def call_names(emu: Emulator) -> list[str]:
    """The calls in order, each as "METHOD what" (the app read runs beside the others)."""
    names = []
    for call in calls(emu):
        path = call["path"]
        if call["to"] == "s3":
            names.append(f"{call['method']} s3")
        elif path.endswith("/logs/stream"):
            names.append("GET stream")
        elif re.search(r"/deploys/[^/]+$", path):
            names.append("GET status")
        elif re.fullmatch(r"/v1/apps/[^/]+", path):
            names.append("GET app")
        else:
            names.append(f"{call['method']} {path.rsplit('/', 1)[-1]}")
    return names


def test_deploy_speaks_the_published_calls_and_follows_to_complete(
    emu, run_cli, remote_env, app_dir
):
    result = run_cli("deploy", str(app_dir), "-m", "first deploy", env=remote_env)

    assert result.code == 0, result.stderr
    deploy_id = result.stdout.strip()
    assert re.fullmatch(r"\S+", deploy_id)
    assert result.stdout == deploy_id + "\n"  # stdout holds the result only
    assert "status: complete" in result.stderr
    assert f"deploy {deploy_id} complete: http://app-e2e.localhost:" in result.stderr
    assert API_KEY not in result.out_and_err

    names = call_names(emu)
    assert names.count("GET app") == 1
    flow = [name for name in names if name != "GET app"]
    # The stream opens right after the deploy; polls run beside it until it says done.
    assert flow[:4] == ["POST upload-url", "PUT s3", "POST verify-upload", "POST deploy"]
    assert set(flow[4:]) == {"GET status", "GET stream"}
    assert flow.count("GET stream") == 1 and flow[-1] == "GET status"

    recorded = calls(emu)
    upload_url = next(c for c in recorded if c["path"].endswith("/upload-url"))
    verify = next(c for c in recorded if c["path"].endswith("/verify-upload"))
    put = next(c for c in recorded if c["to"] == "s3")
    [request] = deploy_requests(emu)
    assert upload_url["json"] == {"filename": "bundle.zip", "content_type": "application/zip"}
    body = request["json"]
    key = body["bundle_s3_key"]
    assert key.startswith(f"app-builds/{APP_ID}/") and key.endswith("/bundle.zip")
    assert verify["json"] == {"bundle_s3_key": key}
    assert put["method"] == "PUT" and put["path"].endswith("/" + key)
    assert put["headers"]["content-type"] == "application/zip"
    assert not {"authorization", "x-namespace", "idempotency-key"} & set(put["headers"])
    for call in recorded:
        if call["to"] == "api":
            assert call["headers"]["authorization"] == "Bearer ***"
            assert "x-namespace" not in call["headers"]  # no namespace configured
        assert API_KEY not in json.dumps(call)

    assert set(body) == DEPLOY_FIELDS
    assert body["message"] == "first deploy"
    assert body["environment"] == "production"
    assert body["source"] == "cli_upload"
    assert body["git_commit_sha"] is None  # app_dir is not in a git repository
    assert body["git_commit_message"] is None
    assert body["git_author"] is None
    assert set(body["source_files"]) == {".gitignore", "index.html", "main.py", "src/util.py"}
    assert body["source_files"]["main.py"] == (app_dir / "main.py").read_text()
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
        request["headers"]["idempotency-key"],
    )

    files = read_bundle(emu, key)
    assert set(files) == EXPECTED_FILES
    assert files["logo.bin"] == (app_dir / "logo.bin").read_bytes()
    assert files["src/util.py"] == (app_dir / "src" / "util.py").read_bytes()

    # Each line of the build log once, in the server's order.
    shown = [line[4:] for line in result.stderr.splitlines() if line.startswith("  | ")]
    assert shown == server_log(emu, deploy_id)
    assert shown[0] == "Downloading bundle from S3..." and shown[-1] == "Deploy complete!"


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
    port = emu.base_url.rsplit(":", 1)[1]
    assert data["url"] == f"http://staging-app-e2e.localhost:{port}"
    assert data["bundle_s3_key"] == deploy_requests(emu)[0]["json"]["bundle_s3_key"]
    assert data["upload_reused"] is False
    assert data["smoke_test"]["passed"] is True
    assert data["smoke_test"]["url"] == data["url"]
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
    assert "  | Deploy failed: tests exploded" in result.stderr
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
    assert data["url"].startswith("http://app-e2e.localhost:")
    # Nothing follows the deploy: the only read is the app's, for its URL.
    assert [r["path"] for r in emu.state.requests if r["method"] == "GET"] == [f"/v1/apps/{APP_ID}"]


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


def test_refused_key_exits_4_naming_the_key_and_the_plan(emu, run_cli, remote_env, app_dir):
    emu.state.configure(api_keys=["sk_some_other_key"])

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 4
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "refused the request (HTTP 403)" in error and "UnauthorizedError" in error
    assert "Enterprise plan" in error and "MIXPEEK_API_KEY" in error
    assert API_KEY not in result.out_and_err
    assert not deploy_requests(emu)
    assert emu.state.s3_requests == []


def test_rate_limit_names_the_limit(emu, run_cli, remote_env, app_dir):
    body = {
        "success": False,
        "status": 429,
        "error": {
            "message": "Rate limit exceeded: 10 per minute",
            "type": "TooManyRequestsError",
            "details": {"api_name": "apps.deploy.upload_url"},
        },
    }
    emu.state.add_fault(
        method="POST", path="/upload-url$", status=429, body=body, retry_after=0, times=None
    )

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 5
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "rate limited on apps.deploy.upload_url (HTTP 429)" in error
    assert "Rate limit exceeded: 10 per minute" in error and "wait a minute" in error
    assert len([r for r in emu.state.requests if r["path"].endswith("/upload-url")]) == 8


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
    # A new bundle: the first one's upload would be reused without asking for a URL.
    (app_dir / "main.py").write_text("print('second try')\n")
    emu.state.add_fault(
        method="POST",
        path="/upload-url$",
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


def test_server_without_a_log_stream_is_followed_by_polls(emu, run_cli, remote_env, app_dir):
    emu.state.configure(stream_enabled=False, build_seconds=0.8)

    result = run_cli("deploy", str(app_dir), "-m", "nologs", "-v", env=remote_env)

    assert result.code == 0, result.stderr
    streams = [r for r in emu.state.requests if r["path"].endswith("/logs/stream")]
    assert [s["status"] for s in streams] == [404]
    assert result.stderr.count("no build log stream") == 1
    assert "  | " not in result.stderr
    assert "status: complete" in result.stderr


def test_a_smoke_test_that_did_not_pass_is_a_warning(emu, run_cli, remote_env, app_dir):
    emu.state.configure(smoke_test_errors=["GET / answered 500"])

    result = run_cli("deploy", str(app_dir), "-m", "smoke", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    smoke = json.loads(result.stdout)["smoke_test"]
    assert smoke["passed"] is False and smoke["errors"] == ["GET / answered 500"]
    [warning] = [line for line in result.stderr.splitlines() if "smoke test" in line]
    assert warning.startswith("warning: the smoke test of http://app-e2e.localhost:")
    assert "did not pass" in warning and "GET / answered 500" in warning


def test_an_app_that_cannot_be_read_leaves_the_url_unknown(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="GET", path=r"^/v1/apps/[^/]+$", status=404, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "complete" and data["url"] is None


def test_namespace_is_sent_on_api_calls_only_when_set(emu, run_cli, remote_env, app_dir):
    (app_dir / "mixpeek.toml").write_text('namespace = "ns_from_file"\n')
    from_file = run_cli("deploy", str(app_dir), "-m", "ns", env=remote_env)
    api_calls = [c for c in calls(emu) if c["to"] == "api"]
    s3_calls = [c for c in calls(emu) if c["to"] == "s3"]
    emu.state.clear_requests()
    flag = run_cli("deploy", str(app_dir), "-m", "ns", "--namespace", "ns_flag", env=remote_env)
    flagged = [c for c in calls(emu) if c["to"] == "api"]

    assert from_file.code == 0 and flag.code == 0, from_file.stderr + flag.stderr
    assert api_calls and all(c["headers"]["x-namespace"] == "ns_from_file" for c in api_calls)
    assert s3_calls and all("x-namespace" not in c["headers"] for c in s3_calls)
    assert flagged and all(c["headers"]["x-namespace"] == "ns_flag" for c in flagged)


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
    assert data["source_files_count"] == 4
    assert data["largest_files"][0]["path"] == "logo.bin"
    assert len(data["bundle_sha256"]) == 64


def test_dry_run_human_summary(run_cli, app_dir):
    result = run_cli("deploy", str(app_dir), "-m", "check", "--dry-run")

    assert result.code == 0, result.stderr
    assert "files: 5" in result.stdout
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

    # A short --timeout: the retries' back-off would otherwise take ~20 s of the suite.
    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", "--timeout", "3", env=env)

    assert result.code == 5
    assert "cannot connect" in result.stderr
    assert "retrying in" in result.stderr  # it did retry before giving up
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

    def following() -> bool:  # the deploy exists and the CLI has started to follow it
        return any(r["method"] == "GET" and "/deploys/" in r["path"] for r in emu.state.requests)

    while not (deploy_requests(emu) and following()) and time.monotonic() < deadline:
        time.sleep(0.05)
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
