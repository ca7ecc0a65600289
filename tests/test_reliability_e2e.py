"""Faults and bad answers never cause a duplicate deploy, a false success or a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from conftest import API_KEY, read_bundle, spawn_cli
from netfaults import serve

from mixpeek_cli.emulator import Emulator


def deploys_created(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r
        for r in emu.state.requests
        if r["method"] == "POST" and r["path"].endswith("/deploy") and r["status"] == 200
    ]


def assert_clean_failure(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.code == code, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return error


# -- network faults ------------------------------------------------------------------


def test_redirects_are_not_followed_with_the_key(run_cli, remote_env, app_dir):
    seen: list[str] = []

    def elsewhere(request):  # type: ignore[no-untyped-def]
        seen.append(request.headers.get("Authorization", ""))
        request.send_response(200)
        request.end_headers()

    with serve(elsewhere) as other:

        def redirect(request):  # type: ignore[no-untyped-def]
            request.send_response(307)
            request.send_header("Location", other + request.path)
            request.send_header("Content-Length", "0")
            request.end_headers()

        with serve(redirect) as api:
            result = run_cli(
                "deploy", str(app_dir), "-m", "x", env={**remote_env, "MIXPEEK_BASE_URL": api}
            )

    assert_clean_failure(result, 5)
    assert seen == []


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (
            {
                "method": "POST",
                "path": "/deploy$",
                "status": 200,
                "body": "{not json",
                "content_type": "application/json",
            },
            "not JSON",
        ),
        (
            {
                "method": "POST",
                "path": "/deploy$",
                "status": 200,
                "body": {"status": "queued", "app_id": "app_e2e"},
            },
            "deploy_id",
        ),
        (
            {"method": "POST", "path": "/upload-url$", "status": 200, "body": ["a", "list"]},
            "expected a JSON object",
        ),
        (
            {
                "method": "POST",
                "path": "/upload-url$",
                "status": 200,
                "body": {"upload_url": "https://s3.example/x"},
            },
            "bundle_s3_key",
        ),
        (
            {"method": "POST", "path": "/verify-upload$", "status": 200, "body": {"etag": "x"}},
            "'exists'",
        ),
        (
            {
                "method": "POST",
                "path": "/deploy$",
                "status": 418,
                "content_type": "text/html",
                "body": "<html><body><h1>I'm a teapot</h1></body></html>",
            },
            "I'm a teapot",
        ),
    ],
)
def test_odd_answers_exit_5_with_a_message(emu, run_cli, remote_env, app_dir, fault, fragment):
    emu.state.add_fault(**fault)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert fragment in assert_clean_failure(result, 5)


def test_unknown_status_is_shown_and_polling_goes_on(emu, run_cli, remote_env, app_dir):
    created = run_cli("deploy", str(app_dir), "-m", "x", "--no-wait", env=remote_env)
    deploy_id = created.stdout.strip()
    body = {
        "deploy_id": deploy_id,
        "status": "optimizing",
        "environment": "production",
        "source": "cli_upload",
        "message": "x",
    }
    emu.state.add_fault(method="GET", path=f"/deploys/{deploy_id}$", status=200, body=body, times=2)

    result = run_cli("deploys", "status", deploy_id, "--wait", env=remote_env)

    assert result.code == 0, result.stderr
    assert "optimizing" in result.stderr
    assert result.stdout == "complete\n"


def test_status_404_right_after_creation_is_retried(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="GET", path=r"/deploys/[^/]+$", status=404, times=2)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 0, result.stderr


def test_status_404_that_persists_exits_5(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="GET", path=r"/deploys/[^/]+$", status=404, times=None)

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    error = assert_clean_failure(result, 5)
    assert "404" in error
    # The deploy was created before following it failed: its id is the result, and the
    # message says how to look at it again.
    assert len(deploys_created(emu)) == 1
    deploy_id = emu.state.deploys("app_e2e")[0].deploy_id
    assert result.stdout == f"{deploy_id}\n"
    assert f"mixpeek deploys status {deploy_id} --wait" in error
    statuses = [
        r for r in emu.state.requests if r["method"] == "GET" and r["path"].endswith(deploy_id)
    ]
    assert len(statuses) == 5


def test_retry_after_http_date_is_honoured(emu, run_cli, remote_env, app_dir):
    from email.utils import formatdate

    emu.state.add_fault(
        method="POST",
        path="/upload-url$",
        status=503,
        retry_after=formatdate(time.time() + 1, usegmt=True),
        times=1,
    )

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert result.code == 0, result.stderr
    uploads = [r for r in emu.state.requests if r["path"].endswith("/upload-url")]
    assert [u["status"] for u in uploads] == [503, 200]
    assert len({u["headers"]["idempotency-key"] for u in uploads}) == 1


def test_retries_stop_at_the_overall_timeout(emu, run_cli, remote_env, app_dir):
    emu.state.add_fault(method="POST", path="/upload-url$", status=503, retry_after=30, times=None)

    started = time.monotonic()
    result = run_cli("deploy", str(app_dir), "-m", "x", "--timeout", "2", env=remote_env)

    error = assert_clean_failure(result, 5)
    assert "503" in error and error.endswith("try again in a few minutes")
    assert time.monotonic() - started < 25  # not 8 attempts x 30 s


def test_a_status_check_s_retries_stop_at_the_overall_timeout_too(emu, run_cli, remote_env):
    emu.state.add_fault(method="GET", path="/deploys/", status=503, retry_after=30, times=None)

    started = time.monotonic()
    result = run_cli("deploys", "status", "dep_x", "--timeout", "2", env=remote_env)

    error = assert_clean_failure(result, 5)
    assert "503" in error
    assert time.monotonic() - started < 25  # not 8 attempts x 30 s


# -- Ctrl-C -------------------------------------------------------------------------


def test_ctrl_c_while_bundling_removes_the_temporary_zip(cli_env, remote_env, tmp_path, emu):
    app = tmp_path / "big"
    app.mkdir()
    for i in range(160):
        (app / f"blob{i:03}.bin").write_bytes(os.urandom(1024 * 1024))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    cache = Path(cli_env["XDG_CACHE_HOME"])

    def zips() -> list[Path]:
        # The zip goes to the re-deploy cache, or to TMPDIR when there is none.
        return [*scratch.rglob("*.zip"), *cache.rglob("*.zip")]

    env = {**cli_env, **remote_env, "TMPDIR": str(scratch)}
    proc = spawn_cli("deploy", str(app), "-m", "x", env=env)
    deadline = time.monotonic() + 30
    while not zips() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert zips(), "bundling never started"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "error: interrupted while bundling; nothing was sent" in stderr
    assert "run the deploy again" in stderr
    assert zips() == []
    assert emu.state.requests == []


# -- bad input: exit 2, one line, no request ----------------------------------------


@pytest.mark.parametrize(
    ("args", "env_extra", "fragment"),
    [
        (["-a", "my/app"], {}, "invalid app id"),
        (["-a", "my app"], {}, "invalid app id"),
        (["-e", "prod"], {}, "staging or production"),
        (["-m", ""], {}, "message is empty"),
        (["-m", "   "], {}, "message is empty"),
        ([], {"MIXPEEK_BASE_URL": "http://api.example.com"}, "plain HTTP"),
        (["--poll-interval", "0"], {}, "poll interval"),
    ],
)
def test_bad_input_exits_2_without_a_request(
    emu, run_cli, remote_env, app_dir, args, env_extra, fragment
):
    argv = ["deploy", str(app_dir), *args]
    if "-m" not in args:
        argv += ["-m", "x"]
    result = run_cli(*argv, env={**remote_env, **env_extra})

    assert fragment in assert_clean_failure(result, 2)
    assert result.stdout == ""
    assert emu.state.requests == []


def test_malformed_project_file_exits_2_with_line_and_column(emu, run_cli, remote_env, app_dir):
    (app_dir / "mixpeek.toml").write_text('app_id = "a"\nenvironment = = "x"\n')

    error = assert_clean_failure(run_cli("deploy", str(app_dir), "-m", "x", env=remote_env), 2)

    assert "line 2" in error and "column" in error
    assert emu.state.requests == []


def test_non_utf8_file_name_exits_2_showing_its_repr(emu, run_cli, remote_env, app_dir):
    os.close(os.open(os.fsencode(app_dir) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY))

    error = assert_clean_failure(run_cli("deploy", str(app_dir), "-m", "x", env=remote_env), 2)

    assert "cannot bundle b'caf\\xe9.txt': its name is not valid UTF-8" in error
    assert emu.state.requests == []


def test_sockets_and_symlink_loops_are_skipped_with_warnings(run_cli, app_dir):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(app_dir / "app.sock"))
    (app_dir / "loop_a").symlink_to(app_dir / "loop_b")
    (app_dir / "loop_b").symlink_to(app_dir / "loop_a")
    try:
        result = run_cli("deploy", str(app_dir), "-m", "x", "--dry-run", "--json")
    finally:
        sock.close()

    assert result.code == 0, result.stderr
    assert "app.sock" in result.stderr and "socket" in result.stderr
    assert "loop_a" in result.stderr and "loop_b" in result.stderr
    assert json.loads(result.stdout)["file_count"] == 5


# -- secrets -------------------------------------------------------------------------


def github_token() -> str:
    import random
    import string

    rng = random.Random(11)
    return "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))


def test_a_credential_in_a_shipped_file_stops_the_deploy(emu, run_cli, remote_env, app_dir):
    value = github_token()
    (app_dir / "settings.py").write_text(f"DEBUG = False\nGITHUB = '{value}'\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    error = assert_clean_failure(result, 2)
    assert "settings.py:2 holds a GitHub token" in error
    assert "--include-secret settings.py" in error and ".mixpeekignore" in error
    assert value not in result.out_and_err
    assert result.stderr.count("holds a GitHub token") == 1  # said once, in the error
    assert emu.state.requests == []


def test_several_credentials_are_each_named_before_the_refusal(emu, run_cli, remote_env, app_dir):
    (app_dir / "settings.py").write_text(f"GITHUB = '{github_token()}'\n")
    key = "sk_" + github_token()[4:]  # the same random 36 characters, as a Mixpeek key
    (app_dir / "src" / "client.py").write_text(f"KEY = '{key}'\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    error = assert_clean_failure(result, 2)
    assert "settings.py:1 holds a GitHub token" in error and "and 1 more" in error
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("settings.py:1 holds a GitHub token" in line for line in warnings)
    assert any("src/client.py:1 holds a Mixpeek API key" in line for line in warnings)
    assert emu.state.requests == []


def test_include_secret_ships_one_file_and_says_so(emu, run_cli, remote_env, app_dir):
    (app_dir / "settings.py").write_text(f"GITHUB = '{github_token()}'\n")
    (app_dir / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n")

    result = run_cli(
        "deploy",
        str(app_dir),
        "-m",
        "x",
        "--json",
        "--include-secret",
        "settings.py",
        env=remote_env,
    )

    assert result.code == 0, result.stderr
    assert "including settings.py" in result.stderr
    assert "left out server.pem: it holds a private key" in result.stderr
    files = read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])
    assert "settings.py" in files and "server.pem" not in files


def test_ignore_files_cannot_re_include_secrets(emu, run_cli, remote_env, app_dir):
    (app_dir / ".mixpeekignore").write_text("!.env\n!.ssh/\n")
    (app_dir / ".ssh").mkdir()
    (app_dir / ".ssh" / "id_ed25519").write_text("key\n")

    result = run_cli("deploy", str(app_dir), "-m", "x", "--json", env=remote_env)

    assert result.code == 0, result.stderr
    files = read_bundle(emu, json.loads(result.stdout)["bundle_s3_key"])
    assert ".env" not in files and ".ssh/id_ed25519" not in files
    assert "left out .env: it is a dotenv file" in result.stderr


# -- key hygiene ---------------------------------------------------------------------


def test_verbose_shows_exchanges_with_the_key_redacted(emu, run_cli, remote_env, app_dir):
    result = run_cli("deploy", str(app_dir), "-m", "x", "-v", env=remote_env)

    assert result.code == 0, result.stderr
    assert "authorization: Bearer ***" in result.stderr
    assert "POST http://127.0.0.1" in result.stderr
    assert API_KEY not in result.out_and_err
    assert API_KEY[-8:] not in result.out_and_err


def test_key_is_absent_from_every_failure_output(emu, run_cli, remote_env, app_dir):
    # A misbehaving server echoes the Authorization header back in its error pages.
    emu.state.add_fault(
        method="*",
        path=".*",
        status=500,
        times=None,
        body={"detail": f"bad request with Authorization: Bearer {API_KEY}"},
    )
    result = run_cli(
        "deploy", str(app_dir), "-m", "x", "-v", "--json", "--timeout", "3", env=remote_env
    )

    assert_clean_failure(result, 5)
    assert API_KEY not in result.out_and_err


def test_api_key_in_a_tree_file_is_caught_by_the_scan(emu, run_cli, remote_env, app_dir):
    # People paste their own key into code; it must not ship.
    key = "sk_" + "Q7d9Lm2Xa8Zt4Rb6Kc1Vn3Pw5Hy0Js"
    (app_dir / "client.py").write_text(f"KEY = '{key}'\n")
    result = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)

    assert "client.py:1 holds a Mixpeek API key" in assert_clean_failure(result, 2)
    assert key not in result.out_and_err


def test_dry_run_json_audits_every_shipped_and_excluded_file(run_cli, app_dir):
    import hashlib

    (app_dir / ".mixpeekignore").write_text("!.env\n")

    result = run_cli("deploy", str(app_dir), "-m", "audit", "--dry-run", "--json")

    assert result.code == 0, result.stderr
    audit = json.loads(result.stdout)["audit"]
    shipped = {f["path"]: f for f in audit["files"]}
    assert set(shipped) == {
        ".gitignore",
        ".mixpeekignore",
        "index.html",
        "logo.bin",
        "main.py",
        "src/util.py",
    }
    main = (app_dir / "main.py").read_bytes()
    assert shipped["main.py"]["size"] == len(main)
    assert shipped["main.py"]["sha256"] == hashlib.sha256(main).hexdigest()
    excluded = {e["path"]: e["rule"] for e in audit["excluded"]}
    assert excluded["debug.log"].startswith("*.log (") and ".gitignore:1" in excluded["debug.log"]
    assert excluded["src/__pycache__/"] == "__pycache__/ (<built-in defaults>)"
    assert excluded[".env"] == "secret guard: it is a dotenv file"


def test_unreadable_path_and_unreadable_file_exit_2(run_cli_unprivileged, tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir()
    app = tmp_path / "app"
    app.mkdir()
    (app / "ok.py").write_text("ok\n")
    (app / "secret.py").write_text("x\n")
    (app / "secret.py").chmod(0)
    closed.chmod(0)  # not even its owner may list it
    try:
        no_dir = run_cli_unprivileged("deploy", str(closed), "-m", "x", "--dry-run", cwd=tmp_path)
        no_file = run_cli_unprivileged("deploy", str(app), "-m", "x", "--dry-run", cwd=tmp_path)
    finally:
        closed.chmod(0o700)  # so pytest can clean it up

    assert "cannot read" in assert_clean_failure(no_dir, 2)
    error = assert_clean_failure(no_file, 2)
    assert "cannot read secret.py: Permission denied" in error


def test_a_cached_bundle_is_still_judged_by_the_secret_guard(emu, run_cli, remote_env, app_dir):
    # The first deploy ships a credential on purpose and leaves its bundle in the cache;
    # the unchanged tree deployed again without --include-secret must still be refused.
    (app_dir / "settings.py").write_text(f"GITHUB = '{github_token()}'\n")
    allowed = run_cli(
        "deploy", str(app_dir), "-m", "x", "--include-secret", "settings.py", env=remote_env
    )
    again = run_cli("deploy", str(app_dir), "-m", "x", env=remote_env)
    allowed_again = run_cli(
        "deploy", str(app_dir), "-m", "x", "--include-secret", "settings.py", env=remote_env
    )

    assert allowed.code == 0, allowed.stderr
    assert "settings.py:1 holds a GitHub token" in assert_clean_failure(again, 2)
    assert allowed_again.code == 0, allowed_again.stderr
    assert "reusing it" in allowed_again.stderr
    assert "bundle unchanged: reusing the upload from" in allowed_again.stderr
    assert len(deploys_created(emu)) == 2


def test_ctrl_c_while_the_deploy_post_is_in_flight_still_names_the_deploy(
    emu, cli_env, remote_env, app_dir
):
    # The server takes 2 s to answer the POST: the Ctrl-C lands while it is in flight.
    emu.state.add_fault(method="POST", path="/deploy$", status=None, delay=2.0)
    proc = spawn_cli("deploy", str(app_dir), "-m", "x", env={**cli_env, **remote_env})
    deadline = time.monotonic() + 30
    while not [r for r in emu.state.requests if r["path"].endswith("/deploy")]:
        assert time.monotonic() < deadline, "the deploy POST never came"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    [created] = emu.state.deploys("app_e2e")[:1]
    assert stdout.strip() == created.deploy_id
    assert f"mixpeek deploys status {created.deploy_id} --wait" in stderr


def test_verbose_shows_the_presigned_put_with_its_signature_masked(
    emu, run_cli, remote_env, app_dir
):
    import re as _re

    result = run_cli("deploy", str(app_dir), "-m", "x", "-v", env=remote_env)

    assert result.code == 0, result.stderr
    [put] = [line for line in result.stderr.splitlines() if line.startswith("http: > PUT ")]
    assert "X-Amz-Signature=***" in put and "X-Amz-Credential=***" in put
    assert not _re.search(r"X-Amz-Signature=[0-9a-f]{16}", result.stderr)
    assert "PUT (presigned) -> 200" in result.stderr
