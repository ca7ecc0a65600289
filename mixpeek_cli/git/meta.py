"""Git metadata of the repository holding the deployed directory, read with GitPython."""

from __future__ import annotations

import os
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
    """
    git = _gitpython()
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return NO_GIT
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            return NO_GIT
        try:
            dirty = _has_changes(repo, path)
        except (git.GitCommandError, OSError):
            dirty = False
        if not repo.head.is_valid():
            return GitInfo(commit_sha=None, commit_message=None, author=None, dirty=dirty)
        return _commit_info(repo.head.commit, dirty=dirty)


def _gitpython() -> Any:
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


def _has_changes(repo: Any, path: Path) -> bool:
    """Whether ``path`` has staged, unstaged or untracked (not ignored) changes.

    One ``git status`` rather than GitPython's ``is_dirty(untracked_files=True)``, which
    runs two diffs and then lists every untracked file one by one (~50 ms for a fresh
    tree of 4,000 files); ``normal`` mode names an untracked directory once. No optional
    locks: a deploy run from a hook must not take the index lock from the user's git.
    """
    rel = os.path.relpath(path.resolve(), Path(repo.working_tree_dir).resolve())
    out = repo.git.status(
        "--porcelain",
        "--untracked-files=normal",
        "--",
        rel,
        env={"GIT_OPTIONAL_LOCKS": "0"},
    )
    return bool(out.strip())


def read_commit_info(path: Path, rev: str) -> GitInfo:
    """The sha, message and author of commit ``rev`` in the repository holding ``path``."""
    from mixpeek_cli.errors import UsageError

    git = _gitpython()
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
    with _gitpython().Repo(path, search_parent_directories=True) as repo:
        out = repo.git.branch("-r", "--contains", sha, "--format=%(refname:short)")
    return [line.strip() for line in out.splitlines() if line.strip()]
