"""The pre-push hook with real git: a repository, a bare remote, `git push`, the emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import INDEX_HTML, git, read_bundle

from mixpeek_cli.emulator import Emulator
from mixpeek_cli.git.hooks import PushedRef, parse_push_lines, select_refs

ZERO = "0" * 40


def deploy_bodies(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [
        r["json"]
        for r in emu.state.requests
        if r["method"] == "POST" and r["path"].endswith("/deploy")
    ]


@pytest.fixture
def push_env(cli_env: dict[str, str], remote_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, **remote_env}


@pytest.fixture
def repo(tmp_path: Path, push_env: dict[str, str]) -> Path:
    """A repository on branch main with one commit, and a bare remote `origin`."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote), env=push_env)
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main", env=push_env)
    (work / "main.py").write_text("print('v1')\n")
    (work / "index.html").write_text(INDEX_HTML)
    (work / ".gitignore").write_text("*.log\n")
    git(work, "add", ".", env=push_env)
    git(work, "commit", "-q", "-m", "first version", env=push_env)
    git(work, "remote", "add", "origin", str(remote), env=push_env)
    git(work, "push", "-q", "--no-verify", "origin", "main", env=push_env)
    return work


def push(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "push", "origin", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def remote_sha(repo: Path, env: dict[str, str], branch: str = "main") -> str:
    return git(repo.parent / "remote.git", "rev-parse", branch, env=env).strip()


def commit(repo: Path, env: dict[str, str], message: str, **files: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", ".", env=env)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD", env=env).strip()


def test_push_deploys_the_pushed_commit_not_the_working_tree(emu, run_cli, push_env, repo):
    installed = run_cli("hooks", "install", cwd=repo, env=push_env)
    assert installed.code == 0, installed.stderr
    assert installed.stdout.strip() == str(repo / ".git" / "hooks" / "pre-push")

    sha = commit(repo, push_env, "second version", **{"main.py": "print('v2')\n"})
    # Uncommitted edits and an untracked file must not reach the deploy.
    (repo / "main.py").write_text("print('half-done edit')\n")
    (repo / "scratch.py").write_text("print('never committed')\n")

    pushed = push(repo, push_env, "main")

    assert pushed.returncode == 0, pushed.stderr
    assert remote_sha(repo, push_env) == sha
    [body] = deploy_bodies(emu)
    assert body["git_commit_sha"] == sha
    assert body["message"] == "second version"
    assert body["git_commit_message"] == "second version"
    files = read_bundle(emu, body["bundle_s3_key"])
    assert set(files) == {".gitignore", "index.html", "main.py"}
    assert files["main.py"] == b"print('v2')\n"
    assert "status: complete" in pushed.stderr
    assert "\x1b[" not in pushed.stderr  # plain output: no colour or cursor codes


def test_a_failed_build_blocks_the_push(emu, run_cli, push_env, repo):
    assert run_cli("hooks", "install", cwd=repo, env=push_env).code == 0
    before = remote_sha(repo, push_env)
    commit(repo, push_env, "break it", MIXPEEK_FAIL_BUILD="made to fail by the hook test\n")

    pushed = push(repo, push_env, "main")

    assert pushed.returncode != 0
    assert remote_sha(repo, push_env) == before  # the remote ref was not updated
    assert "made to fail by the hook test" in pushed.stderr
    assert "push blocked" in pushed.stderr
    assert len(deploy_bodies(emu)) == 1


def test_no_block_lets_the_push_through_a_failed_build(emu, run_cli, push_env, repo):
    assert run_cli("hooks", "install", "--no-block", cwd=repo, env=push_env).code == 0
    sha = commit(repo, push_env, "break it", MIXPEEK_FAIL_BUILD="still fails\n")

    pushed = push(repo, push_env, "main")

    assert pushed.returncode == 0, pushed.stderr
    assert remote_sha(repo, push_env) == sha
    assert "still fails" in pushed.stderr
    assert len(deploy_bodies(emu)) == 1


def test_other_branches_tags_and_deletions_are_not_deployed(emu, run_cli, push_env, repo):
    assert run_cli("hooks", "install", "-e", "staging", cwd=repo, env=push_env).code == 0
    git(repo, "checkout", "-q", "-b", "feature", env=push_env)
    commit(repo, push_env, "feature work", **{"feature.py": "x = 1\n"})
    git(repo, "tag", "v1", env=push_env)

    assert push(repo, push_env, "feature").returncode == 0
    assert push(repo, push_env, "v1").returncode == 0
    deleted = push(repo, push_env, "--delete", "feature")
    assert deleted.returncode == 0, deleted.stderr
    assert deploy_bodies(emu) == []
    assert "not deploying refs/heads/feature: not refs/heads/main" in (
        push(repo, push_env, "feature").stderr
    )

    # Pushing the feature commit onto main does deploy, to the installed environment.
    onto_main = push(repo, push_env, "feature:main")
    assert onto_main.returncode == 0, onto_main.stderr
    [body] = deploy_bodies(emu)
    assert body["environment"] == "staging"
    assert body["message"] == "feature work"


def test_a_foreign_hook_is_refused_then_chained_and_restored(emu, run_cli, push_env, repo):
    hook = repo / ".git" / "hooks" / "pre-push"
    seen = repo.parent / "foreign-saw.txt"
    foreign = f'#!/bin/sh\ncat > {seen}\necho foreign-ran "$1" >&2\n'
    hook.write_text(foreign)
    hook.chmod(0o755)

    refused = run_cli("hooks", "install", cwd=repo, env=push_env)
    assert refused.code == 2
    assert "not written by mixpeek" in refused.stderr
    assert "--chain" in refused.stderr
    assert hook.read_text() == foreign

    chained = run_cli("hooks", "install", "--chain", cwd=repo, env=push_env)
    assert chained.code == 0, chained.stderr
    sha = commit(repo, push_env, "chained", **{"main.py": "print('v3')\n"})
    pushed = push(repo, push_env, "main")
    assert pushed.returncode == 0, pushed.stderr
    assert "foreign-ran origin" in pushed.stderr
    assert seen.read_text().split()[1] == sha  # the foreign hook got git's stdin too
    assert [b["git_commit_sha"] for b in deploy_bodies(emu)] == [sha]

    removed = run_cli("hooks", "uninstall", cwd=repo, env=push_env)
    assert removed.code == 0, removed.stderr
    assert hook.read_text() == foreign
    assert not (repo / ".git" / "hooks" / "pre-push.mixpeek-chained").exists()
    # Not ours any more: uninstall leaves it alone.
    again = run_cli("hooks", "uninstall", cwd=repo, env=push_env)
    assert again.code == 2
    assert hook.read_text() == foreign


def test_a_failing_chained_hook_blocks_before_any_deploy(emu, run_cli, push_env, repo):
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho 'lint failed' >&2\nexit 7\n")
    hook.chmod(0o755)
    assert run_cli("hooks", "install", "--chain", cwd=repo, env=push_env).code == 0
    before = remote_sha(repo, push_env)
    commit(repo, push_env, "more", **{"main.py": "print('v4')\n"})

    pushed = push(repo, push_env, "main")

    assert pushed.returncode != 0
    assert "lint failed" in pushed.stderr
    assert remote_sha(repo, push_env) == before
    assert deploy_bodies(emu) == []


def test_install_honours_core_hooks_path_and_uninstall_removes_only_its_hook(
    run_cli, push_env, repo
):
    git(repo, "config", "core.hooksPath", ".githooks", env=push_env)

    installed = run_cli("hooks", "install", "--branch", "release", "--json", cwd=repo, env=push_env)

    assert installed.code == 0, installed.stderr
    hook = repo / ".githooks" / "pre-push"
    assert hook.is_file()
    assert not (repo / ".git" / "hooks" / "pre-push").exists()
    assert "--branch release " in hook.read_text()
    assert hook.stat().st_mode & 0o111
    removed = run_cli("hooks", "uninstall", cwd=repo, env=push_env)
    assert removed.code == 0
    assert not hook.exists()


def test_installing_twice_updates_the_own_hook(run_cli, push_env, repo):
    assert run_cli("hooks", "install", cwd=repo, env=push_env).code == 0
    second = run_cli("hooks", "install", "--no-block", cwd=repo, env=push_env)
    assert second.code == 0, second.stderr
    assert "updated" in second.stderr
    assert "--no-block" in (repo / ".git" / "hooks" / "pre-push").read_text()


def test_pre_commit_framework_variables_are_read(emu, run_cli, push_env, repo):
    sha = git(repo, "rev-parse", "HEAD", env=push_env).strip()
    env = {
        **push_env,
        "PRE_COMMIT": "1",
        "PRE_COMMIT_TO_REF": sha,
        "PRE_COMMIT_FROM_REF": ZERO,
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
    }

    result = run_cli("hooks", "pre-push", "origin", "url", "--json", cwd=repo, env=env)

    assert result.code == 0, result.stderr
    [body] = deploy_bodies(emu)
    assert body["git_commit_sha"] == sha


def test_select_refs_skips_deletions_tags_and_other_branches():
    sha = "a" * 40
    refs = parse_push_lines(
        f"refs/heads/main {sha} refs/heads/main {ZERO}\n"
        f"(delete) {ZERO} refs/heads/old {sha}\n"
        f"refs/tags/v1 {sha} refs/tags/v1 {ZERO}\n"
        f"refs/heads/dev {sha} refs/heads/dev {ZERO}\n"
    )

    chosen, skipped = select_refs(refs, "main")

    assert chosen == [PushedRef("refs/heads/main", sha, "refs/heads/main", ZERO)]
    assert skipped == [
        "refs/heads/old: a deletion",
        "refs/tags/v1: a tag",
        "refs/heads/dev: not refs/heads/main",
    ]


def test_the_pre_commit_manifest_runs_a_command_that_exists(run_cli):
    yaml = pytest.importorskip("yaml")

    manifest = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"
    [hook] = yaml.safe_load(manifest.read_text())

    assert hook["id"] == "mixpeek-deploy"
    assert hook["stages"] == ["pre-push"]
    assert hook["pass_filenames"] is False
    program, *args = hook["entry"].split()
    assert program == "mixpeek"
    assert run_cli(*args, "--help").code == 0
