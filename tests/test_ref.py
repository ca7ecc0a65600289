"""`deploy --ref REV` bundles a commit from git objects; `--source git` sends a pushed commit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import INDEX_HTML, git, read_bundle

from mixpeek_cli.emulator import Emulator


def deploy_bodies(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r["json"]
        for r in emu.state.requests
        if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


@pytest.fixture
def repo(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    """Two commits of an app in `svc/`, exercising every ignore source and file kind."""
    work = tmp_path / "repo"
    svc = work / "svc"
    (svc / "pkg").mkdir(parents=True)
    git(work, "init", "-q", "-b", "main", env=cli_env)
    (work / ".git" / "info" / "exclude").write_text("*.local\n")
    (work / ".gitignore").write_text("*.log\n")
    (svc / ".gitignore").write_text("build/\n")
    (svc / ".mixpeekignore").write_text("docs/\n")
    (svc / "main.py").write_text("print('one')\n")
    (svc / "index.html").write_text(INDEX_HTML)
    (svc / "pkg" / "util.py").write_text("X = 1\n")
    (svc / "run.sh").write_text("#!/bin/sh\necho run\n")
    (svc / "run.sh").chmod(0o755)
    os.symlink("main.py", svc / "entry.py")
    (work / "outside.txt").write_text("not part of svc\n")
    git(work, "add", ".", env=cli_env)
    git(work, "commit", "-q", "-m", "first: one", env=cli_env)
    (svc / "main.py").write_text("print('two')\n")
    (svc / "data.bin").write_bytes(bytes(range(256)))
    (svc / "settings.local").write_text("excluded by info/exclude\n")
    git(work, "add", "-A", env=cli_env)
    git(work, "add", "-f", "svc/settings.local", env=cli_env)
    git(work, "commit", "-q", "-m", "second: two\n\nwith a body", env=cli_env)
    return work


def dirty(repo: Path) -> None:
    """Working-tree changes that --ref must not see."""
    svc = repo / "svc"
    (svc / "main.py").write_text("print('uncommitted')\n")
    (svc / "untracked.py").write_text("print('untracked')\n")
    (svc / ".mixpeekignore").write_text("pkg/\n")
    (svc / "run.sh").chmod(0o644)
    (repo / ".gitignore").write_text("*.py\n")


def dry_run(run_cli, *args: str, cwd: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = run_cli("deploy", "--dry-run", "--json", *args, cwd=cwd)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("rev", ["HEAD", "HEAD~1"])
def test_ref_bundle_is_byte_identical_to_a_clean_checkout(run_cli, cli_env, repo, rev):
    sha = git(repo, "rev-parse", rev, env=cli_env).strip()
    checkout = repo.parent / "checkout"
    git(repo, "worktree", "add", "-q", "--detach", str(checkout), sha, env=cli_env)
    dirty(repo)

    from_ref = dry_run(run_cli, "svc", "--ref", rev, cwd=repo)
    from_checkout = dry_run(run_cli, str(checkout / "svc"), cwd=repo)

    assert from_ref["bundle_sha256"] == from_checkout["bundle_sha256"]
    assert from_ref["file_count"] == from_checkout["file_count"]
    assert from_ref["git_commit_sha"] == from_checkout["git_commit_sha"] == sha
    subject = git(repo, "log", "-1", "--format=%s", sha, env=cli_env).strip()
    assert from_ref["message"] == subject
    # And the working tree would have given something else.
    assert dry_run(run_cli, "svc", cwd=repo)["bundle_sha256"] != from_ref["bundle_sha256"]


def test_ref_deploy_uploads_the_commit_files_with_its_metadata(
    emu, run_cli, remote_env, cli_env, repo
):
    sha = git(repo, "rev-parse", "HEAD~1", env=cli_env).strip()
    dirty(repo)

    result = run_cli("deploy", "svc", "--ref", "HEAD~1", "--json", cwd=repo, env=remote_env)

    assert result.code == 0, result.stderr
    assert "uncommitted changes" not in result.stderr
    [body] = deploy_bodies(emu)
    assert body["git_commit_sha"] == sha
    assert body["message"] == "first: one"
    assert body["source"] == "cli_upload"
    files = read_bundle(emu, body["bundle_s3_key"])
    assert set(files) == {
        ".gitignore",
        ".mixpeekignore",
        "index.html",
        "entry.py",
        "main.py",
        "pkg/util.py",
        "run.sh",
    }
    assert files["main.py"] == files["entry.py"] == b"print('one')\n"
    assert set(body["source_files"]) == set(files)


def test_ref_executable_bit_and_message_flag(emu, run_cli, remote_env, repo):
    (repo / "svc" / "run.sh").chmod(0o644)  # the commit still says 0755

    result = run_cli(
        "deploy", "svc", "--ref", "main", "-m", "explicit", "--json", cwd=repo, env=remote_env
    )

    assert result.code == 0, result.stderr
    [body] = deploy_bodies(emu)
    assert body["message"] == "explicit"
    import io
    import zipfile

    raw = emu.s3_client().get_object(Bucket=emu.bucket, Key=body["bundle_s3_key"])["Body"].read()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert (zf.getinfo("run.sh").external_attr >> 16) & 0o777 == 0o755
        assert (zf.getinfo("main.py").external_attr >> 16) & 0o777 == 0o644


def test_unknown_ref_and_no_repository_are_usage_errors(run_cli, repo, tmp_path):
    unknown = run_cli("deploy", "svc", "--ref", "no-such-branch", "--dry-run", cwd=repo)
    assert unknown.code == 2
    assert "unknown revision 'no-such-branch'" in unknown.stderr

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "app.py").write_text("x = 1\n")
    outside = run_cli("deploy", str(plain), "--ref", "HEAD", "--dry-run", cwd=tmp_path)
    assert outside.code == 2
    assert "not in a git repository" in outside.stderr
    assert "Traceback" not in outside.stderr


def test_ref_to_a_commit_without_the_path_is_refused(run_cli, cli_env, repo):
    (repo / "later").mkdir()
    (repo / "later" / "a.py").write_text("a = 1\n")
    git(repo, "add", ".", env=cli_env)
    git(repo, "commit", "-q", "-m", "add later", env=cli_env)

    result = run_cli("deploy", "later", "--ref", "HEAD~1", "--dry-run", cwd=repo)

    assert result.code == 2
    assert "later holds no file in commit" in result.stderr


@pytest.fixture
def pushed_repo(repo: Path, cli_env: dict[str, str]) -> Path:
    remote = repo.parent / "remote.git"
    git(repo.parent, "init", "-q", "--bare", str(remote), env=cli_env)
    git(repo, "remote", "add", "origin", str(remote), env=cli_env)
    git(repo, "push", "-q", "origin", "main", env=cli_env)
    return repo


def test_source_git_sends_the_commit_without_a_bundle(
    emu, run_cli, remote_env, cli_env, pushed_repo
):
    sha = git(pushed_repo, "rev-parse", "HEAD", env=cli_env).strip()
    dirty(pushed_repo)

    result = run_cli("deploy", "svc", "--source", "git", "--json", cwd=pushed_repo, env=remote_env)

    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "complete"
    assert data["source"] == "git"
    assert data["bundle_sha256"] is None and data["bundle_s3_key"] is None
    [body] = deploy_bodies(emu)
    assert body["source"] == "git"
    assert body["git_commit_sha"] == sha
    assert body["message"] == "second: two"
    assert body.get("bundle_s3_key") is None
    assert not [r for r in emu.state.requests if "/deploy/" in r["path"]]  # no upload calls
    assert emu.state.s3_requests == []


def test_source_git_with_ref_uses_that_commit(emu, run_cli, remote_env, cli_env, pushed_repo):
    sha = git(pushed_repo, "rev-parse", "HEAD~1", env=cli_env).strip()

    result = run_cli(
        "deploy", "svc", "--source", "git", "--ref", "HEAD~1", cwd=pushed_repo, env=remote_env
    )

    assert result.code == 0, result.stderr
    [body] = deploy_bodies(emu)
    assert body["git_commit_sha"] == sha
    assert body["message"] == "first: one"


def test_source_git_refuses_a_commit_no_remote_has(emu, run_cli, remote_env, cli_env, pushed_repo):
    (pushed_repo / "svc" / "new.py").write_text("n = 1\n")
    git(pushed_repo, "add", ".", env=cli_env)
    git(pushed_repo, "commit", "-q", "-m", "local only", env=cli_env)

    result = run_cli("deploy", "svc", "--source", "git", cwd=pushed_repo, env=remote_env)

    assert result.code == 2
    assert "on no remote-tracking branch" in result.stderr
    assert "push it first" in result.stderr
    assert emu.state.requests == []


def test_invalid_source_is_a_usage_error(run_cli, repo):
    result = run_cli("deploy", "svc", "--source", "ftp", "--dry-run", cwd=repo)
    assert result.code == 2
    assert "invalid --source 'ftp'" in result.stderr


def test_ref_deploys_leave_nothing_behind(emu, run_cli, remote_env, cli_env, repo, tmp_path):
    # Each --ref bundles a temporary checkout: caching it would only fill the user's disk.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**remote_env, "TMPDIR": str(scratch)}

    for _ in range(2):
        result = run_cli("deploy", "svc", "--ref", "HEAD", "--no-wait", cwd=repo, env=env)
        assert result.code == 0, result.stderr

    cache = Path(cli_env["XDG_CACHE_HOME"])
    assert list(cache.rglob("*.zip")) == []
    assert list(scratch.iterdir()) == []
