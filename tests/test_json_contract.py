"""With --json, every command prints exactly one JSON document on stdout; errors too.

The list of cases is checked against the commands the app registers, so a new command
without a --json case fails here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import API_KEY, INDEX_HTML, git, spawn_cli

from mixpeek_cli.cli import app


def all_commands() -> set[str]:
    """Every leaf command path, e.g. {"deploy", "deploys list", "hooks install", ...}."""

    def walk(command: object, prefix: str) -> set[str]:
        commands = getattr(command, "commands", None)  # a group, whichever click typer uses
        if commands is not None:
            found: set[str] = set()
            for name, sub in commands.items():
                found |= walk(sub, f"{prefix} {name}".strip())
            return found
        return {prefix}

    root = typer.main.get_command(app)
    found: set[str] = set()
    for name in root.list_commands(None):  # type: ignore[attr-defined]
        found |= walk(root.get_command(None, name), name)  # type: ignore[attr-defined]
    return found


@pytest.fixture
def project(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    """A committed app in a repository whose HEAD is on a remote-tracking branch."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote), env=cli_env)
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main", env=cli_env)
    (work / "main.py").write_text("print('hi')\n")
    (work / "index.html").write_text(INDEX_HTML)
    git(work, "add", ".", env=cli_env)
    git(work, "commit", "-q", "-m", "contract", env=cli_env)
    git(work, "remote", "add", "origin", str(remote), env=cli_env)
    git(work, "push", "-q", "origin", "main", env=cli_env)
    return work


DEPLOY_KEYS = {
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
    "input_bytes",
    "source_files_count",
    "source_files_skipped",
    "source_files_left_out",
    "git_commit_sha",
    "git_commit_message",
    "git_author",
    "upload_reused",
    "smoke_test",
    "build",
    "output_dir",
    "bundle_check",
    "dry_run",
    "timed_out",
    "largest_files",
    "log_tail",
    "source",
}
STATUS_KEYS = {
    "app_id",
    "deploy_id",
    "status",
    "environment",
    "source",
    "bundle_s3_key",
    "message",
    "queued_at",
    "queued_by",
    "error",
    "smoke_test",
    "timed_out",
}


def parse_one_document(stdout: str) -> object:
    """Exactly one JSON document: json.loads refuses trailing data after it."""
    assert stdout.endswith("\n"), repr(stdout)
    return json.loads(stdout)


def test_every_command_prints_one_json_document(
    emu, run_cli, cli_env, remote_env, project, tmp_path
):
    remote_env = {**remote_env, "MIXPEEK_APP_ID": f"contract_{os.urandom(4).hex()}"}
    deployed = run_cli("deploy", "--json", cwd=project, env=remote_env)
    deploy_id = json.loads(deployed.stdout)["deploy_id"]
    (project / "index.html").write_text(INDEX_HTML.replace("hi", "two"))
    second = run_cli("deploy", "--json", "-m", "two", cwd=project, env=remote_env)
    assert second.code == 0, second.stderr
    staged = run_cli(
        "deploy", "--json", "-m", "three", "-e", "staging", cwd=project, env=remote_env
    )
    assert staged.code == 0, staged.stderr
    sha = git(project, "rev-parse", "HEAD", env=cli_env).strip()
    bundle_out = tmp_path / "out.zip"
    doomed = run_cli("apps", "create", f"doomed-{os.urandom(4).hex()}", env=remote_env)
    assert doomed.code == 0, doomed.stderr
    (tmp_path / "push.env").write_text("PUSHED=1\n")
    domain = f"contract-{os.urandom(4).hex()}.example.com"
    invited = run_cli("team", "invite", "leaving@example.com", "--json", env=remote_env)
    assert invited.code == 0, invited.stderr
    app_id = remote_env["MIXPEEK_APP_ID"]
    emu.state.admin.team.accept(app_id, json.loads(invited.stdout)["invitation_id"])
    cases: dict[str, tuple[list[str], dict[str, str], str]] = {
        "deploy": (["deploy", "--json", "--ref", "HEAD"], remote_env, ""),
        "bundle": (["bundle", "-o", str(bundle_out), "--json"], {}, ""),
        "deploys status": (["deploys", "status", deploy_id, "--json"], remote_env, ""),
        "deploys logs": (["deploys", "logs", deploy_id, "--json"], remote_env, ""),
        "versions list": (["versions", "list", "--json"], remote_env, ""),
        "versions show": (["versions", "show", "2", "--json"], remote_env, ""),
        "versions diff": (["versions", "diff", "1..2", "--json"], remote_env, ""),
        "versions download": (
            ["versions", "download", "1", "-o", str(tmp_path / "v1.zip"), "--json"],
            remote_env,
            "",
        ),
        "versions restore": (["versions", "restore", "2", "--yes", "--json"], remote_env, ""),
        "rollback": (["rollback", "--yes", "--json"], remote_env, ""),
        "promote": (["promote", "--yes", "--json"], remote_env, ""),
        "logs": (["logs", "--type", "requests", "--json"], remote_env, ""),
        "apps list": (["apps", "list", "--json"], remote_env, ""),
        "apps create": (
            ["apps", "create", f"contract-{os.urandom(4).hex()}", "--json"],
            remote_env,
            "",
        ),
        "apps show": (["apps", "show", "--json"], remote_env, ""),
        "apps rename": (
            ["apps", "rename", f"renamed-{os.urandom(4).hex()}", "--yes", "--json"],
            remote_env,
            "",
        ),
        "apps delete": (
            ["apps", "delete", doomed.stdout.strip(), "--yes", "--json"],
            remote_env,
            "",
        ),
        "env set": (["env", "set", "CONTRACT=1", "--json"], remote_env, ""),
        "env list": (["env", "list", "--json"], remote_env, ""),
        "env push": (
            ["env", "push", str(tmp_path / "push.env"), "--yes", "--json"],
            remote_env,
            "",
        ),
        "env pull": (["env", "pull", str(tmp_path / "pulled.env"), "--json"], remote_env, ""),
        "env rm": (["env", "rm", "CONTRACT", "--yes", "--json"], remote_env, ""),
        "secrets set": (["secrets", "set", "CONTRACT", "--json"], remote_env, "a-secret-value\n"),
        "secrets list": (["secrets", "list", "--json"], remote_env, ""),
        "secrets rm": (["secrets", "rm", "CONTRACT", "--yes", "--json"], remote_env, ""),
        "open": (["open", "--print", "--json"], remote_env, ""),
        "init": (["init", "--app", "contract_app", "--json"], {}, ""),
        "link": (["link", "contract_app2", "--json"], {}, ""),
        "login": (["login", "--json"], {}, "sk_contract_key\n"),
        "whoami": (["whoami", "--json"], remote_env, ""),
        "logout": (["logout", "--json"], {}, ""),
        "hooks install": (["hooks", "install", "--json"], {}, ""),
        "hooks pre-push": (
            ["hooks", "pre-push", "origin", "url", "--json"],
            remote_env,
            f"refs/heads/main {sha} refs/heads/main {'0' * 40}\n",
        ),
        "hooks uninstall": (["hooks", "uninstall", "--json"], {}, ""),
        "domains add": (["domains", "add", domain, "--json"], remote_env, ""),
        "domains list": (["domains", "list", "--json"], remote_env, ""),
        "domains verify": (["domains", "verify", domain, "--json"], remote_env, ""),
        "domains rm": (["domains", "rm", domain, "--yes", "--json"], remote_env, ""),
        "git connect": (
            ["git", "connect", "https://github.com/acme/contract", "--json"],
            remote_env,
            "",
        ),
        "git status": (["git", "status", "--json"], remote_env, ""),
        "git disconnect": (["git", "disconnect", "--yes", "--json"], remote_env, ""),
        "team invite": (["team", "invite", "contract@example.com", "--json"], remote_env, ""),
        "team list": (["team", "list", "--json"], remote_env, ""),
        "team invitations": (["team", "invitations", "--json"], remote_env, ""),
        "team role": (["team", "role", "leaving@example.com", "admin", "--json"], remote_env, ""),
        "team rm": (["team", "rm", "leaving@example.com", "--yes", "--json"], remote_env, ""),
        "stats": (["stats", "--json"], remote_env, ""),
    }
    # The emulator and dev run until stopped: their cases are the tests below.
    assert set(cases) | {"emulator", "dev"} == all_commands()

    documents: dict[str, object] = {}
    for name, (args, env, stdin) in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "mixpeek_cli", *args],
            cwd=project,
            env={**cli_env, **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, (name, proc.stderr)
        documents[name] = parse_one_document(proc.stdout)
        assert API_KEY not in proc.stdout + proc.stderr, name
    arrays = {"hooks pre-push"}
    for name, document in documents.items():
        assert isinstance(document, list if name in arrays else dict), name
    # The hook really deployed the pushed commit, and its array says so.
    [hooked] = documents["hooks pre-push"]  # type: ignore[misc]
    assert (hooked["git_commit_sha"], hooked["status"]) == (sha, "complete")
    assert documents["deploys status"]["deploy_id"] == deploy_id  # type: ignore[index]
    # The documented shapes (docs/scripting.md), key for key.
    assert set(documents["deploy"]) == DEPLOY_KEYS  # type: ignore[arg-type]
    assert set(documents["deploys status"]) == STATUS_KEYS  # type: ignore[arg-type]
    assert set(documents["deploys logs"]) == STATUS_KEYS | {"lines"}  # type: ignore[arg-type]
    assert set(documents["promote"]) == set(documents["rollback"])  # type: ignore[arg-type]


def test_the_emulator_prints_one_json_line_when_ready(cli_env):
    proc = spawn_cli("emulator", "--port", "0", "--json", env=cli_env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        data = json.loads(line)
        assert data["base_url"].startswith("http://127.0.0.1:")
        import httpx

        health = httpx.get(f"{data['base_url']}/_emulator/health", timeout=10)
        assert health.json()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_dev_prints_one_json_line_when_ready(cli_env, tmp_path):
    (tmp_path / "index.html").write_text("<html><head></head></html>\n")
    proc = spawn_cli("dev", str(tmp_path), "--port", "0", "--offline", "--json", env=cli_env)
    try:
        assert proc.stdout is not None
        data = json.loads(proc.stdout.readline())
        assert set(data) == {"url", "port", "dev_command"}
        assert data["url"] == f"http://localhost:{data['port']}" and data["dev_command"] is None
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert proc.stdout.read() == ""  # the result only: the rest went to stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["deploy", "--json", "-m", "x"], 2),  # no API key
        (["deploys", "status", "dep_x", "--json"], 2),
        (["deploys", "logs", "dep_x", "--json"], 2),
        (["whoami", "--json", "-e", "qa"], 2),
        (["init", "--json"], 2),
        (["link", "bad/id", "--json"], 2),
        (["login", "--json"], 2),
        (["hooks", "install", "--json"], 2),  # not a repository
        (["bundle", "-o", "/nonexistent-dir/x.zip", "--json"], 2),
    ],
)
def test_errors_are_one_json_object_too(run_cli, tmp_path, args, code):
    (tmp_path / "app.py").write_text("x = 1\n")

    result = run_cli(*args, cwd=tmp_path)

    assert result.code == code, result.stderr
    data = parse_one_document(result.stdout)
    assert isinstance(data, dict)
    assert data["exit_code"] == code
    assert isinstance(data["error"], str) and data["error"]
    assert result.stderr.startswith("error: ")


def test_an_api_failure_with_json_is_an_error_object(emu, run_cli, remote_env):
    result = run_cli("deploys", "status", "dep_missing", "--json", env=remote_env)

    assert result.code == 5
    data = parse_one_document(result.stdout)
    assert isinstance(data, dict)
    assert data["exit_code"] == 5


def mixpeek_script() -> str:
    return str(Path(sys.executable).parent / "mixpeek")


@pytest.mark.parametrize(
    ("shell", "extra"),
    [
        ("bash", {"COMP_WORDS": "mixpeek deploys ", "COMP_CWORD": "2"}),
        ("zsh", {"_TYPER_COMPLETE_ARGS": "mixpeek deploys "}),
        (
            "fish",
            {"_TYPER_COMPLETE_ARGS": "mixpeek deploys ", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
        ),
    ],
)
def test_shell_completion_offers_subcommands(cli_env, shell, extra):
    if not os.path.exists(mixpeek_script()):
        pytest.skip("the mixpeek console script is not installed beside this python")
    proc = subprocess.run(
        [mixpeek_script()],
        env={**cli_env, "_MIXPEEK_COMPLETE": f"complete_{shell}", **extra},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )

    assert proc.returncode == 0, proc.stderr
    for name in ("status", "logs"):
        assert name in proc.stdout
