"""Git metadata of the repository holding the deployed directory.

HEAD's, on every deploy, from ``git`` itself (fast); a given commit's (``--ref``,
``--source git``) through GitPython.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class GitInfo:
    commit_sha: str | None
    commit_message: str | None
    author: str | None
    dirty: bool

    @property
    def subject(self) -> str | None:
        if not self.commit_message:
            return None
        return self.commit_message.splitlines()[0].strip() or None


NO_GIT = GitInfo(commit_sha=None, commit_message=None, author=None, dirty=False)


def read_git_info(path: Path) -> GitInfo:
    """HEAD's sha, message and author, and whether ``path`` has uncommitted changes.

    Not in a repository, or no git executable: every field is empty. A repository
    with no commit yet: no commit fields, but ``dirty`` still says whether files exist.

    Two ``git`` subprocesses rather than GitPython, on this path every deploy takes:
    importing GitPython alone cost ~45 ms, more than both commands together.
    """
    # v2 names HEAD's commit ("# branch.oid") and the changes in one call. No optional
    # locks: a deploy run from a hook must not take the index lock from the user's git;
    # "normal" names an untracked directory once instead of each of its files.
    status = _git(
        path, "status", "--porcelain=v2", "--branch", "--untracked-files=normal", "--", "."
    )
    if status is None:
        return NO_GIT  # not a work tree (or a bare repository), or no git at all
    lines = status.splitlines()
    dirty = any(line and not line.startswith("#") for line in lines)
    head = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if head is None or head == "(initial)":
        return GitInfo(commit_sha=None, commit_message=None, author=None, dirty=dirty)
    shown = _git(path, "log", "-1", "--no-mailmap", "--format=%H%x00%an%x00%ae%x00%B", head)
    if shown is None:
        return GitInfo(commit_sha=head, commit_message=None, author=None, dirty=dirty)
    sha, name, email, message = [*shown.split("\0", 3), "", "", ""][:4]
    return GitInfo(
        commit_sha=sha or head,
        commit_message=message.rstrip("\n"),
        author=f"{name} <{email}>",
        dirty=dirty,
    )


def _git(path: Path, *args: str) -> str | None:
    """``git -C path ARGS``'s output as text, or None when git fails or is not installed."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        proc = subprocess.run(
            ["git", "-C", os.fspath(path), *args], capture_output=True, env=env, check=False
        )
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def gitpython() -> Any:
    """The ``git`` module, imported on first use (it is heavy)."""
    # Without this, importing GitPython on a machine with no git binary raises ImportError.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git

    return git


def _commit_info(commit: Any, *, dirty: bool) -> GitInfo:
    message = commit.message
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return GitInfo(
        commit_sha=commit.hexsha,
        commit_message=message.rstrip("\n"),
        author=f"{commit.author.name} <{commit.author.email}>",
        dirty=dirty,
    )


def read_commit_info(path: Path, rev: str) -> GitInfo:
    """The sha, message and author of commit ``rev`` in the repository holding ``path``."""
    from mixpeek_cli.errors import UsageError

    git = gitpython()
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(
            f"{path} is not in a git repository",
            hint="--ref and --source git deploy a commit; deploy the directory without them",
        ) from None
    with repo:
        try:
            commit = repo.commit(rev)
        except (git.BadName, git.BadObject, ValueError, git.GitCommandError):
            raise UsageError(
                f"unknown revision {rev!r}", hint="pass a commit, branch or tag that exists"
            ) from None
        return _commit_info(commit, dirty=False)


def remote_branches_containing(path: Path, sha: str) -> list[str]:
    """The remote-tracking branches (``origin/main``) whose history holds ``sha``."""
    with gitpython().Repo(path, search_parent_directories=True) as repo:
        out = repo.git.branch("-r", "--contains", sha, "--format=%(refname:short)")
    return [line.strip() for line in out.splitlines() if line.strip()]
