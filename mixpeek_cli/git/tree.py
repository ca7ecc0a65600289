"""Materialize a commit's files from git objects, so ``--ref`` never reads the working tree.

The commit is read into a throwaway index and written with ``git checkout-index`` into
a temporary directory: exactly what a checkout writes (symlinks, executable bits, the
commit's own ``.gitattributes`` filters), without the ``export-ignore`` and
``export-subst`` rewriting ``git archive`` would do. That directory is made a git
repository with the same ``core.excludesFile`` and ``info/exclude`` as the real one, so
the normal bundler applies the same ignore rules as on a clean checkout of the commit,
with that commit's ``.gitignore`` and ``.mixpeekignore`` files. The user's index, HEAD
and working tree are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mixpeek_cli.errors import UsageError

# Set by git for hooks and by users for odd layouts; they would redirect our commands.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
)


def clean_git_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: ours) without the variables that point git at a repository."""
    base = os.environ if env is None else env
    return {k: v for k, v in base.items() if k not in _LOCATION_VARS}


def _git(
    args: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=dict(env) if env is not None else clean_git_env(),
            input=input_bytes,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(
            "git is not installed", hint="install git, or deploy without --ref"
        ) from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(
            f"git {args[0]} failed: {detail[-1] if detail else f'exit {proc.returncode}'}",
            hint="check the repository and the revision",
        )
    return proc


def _line(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


@dataclass(frozen=True)
class RepoLocation:
    top: Path
    git_dir: Path
    common_dir: Path
    prefix: str  # PATH relative to top, POSIX, "" for the top itself


def locate(path: Path) -> RepoLocation:
    """The repository holding the directory ``path``, or a UsageError."""
    probe = _git(["rev-parse", "--show-toplevel"], cwd=path, check=False)
    if probe.returncode != 0:
        raise UsageError(
            f"--ref needs a git repository, and {path} is not in one",
            hint="deploy the directory without --ref",
        )
    top = Path(os.path.realpath(_line(probe)))
    git_dir = Path(_line(_git(["rev-parse", "--absolute-git-dir"], cwd=path)))
    common = Path(_line(_git(["rev-parse", "--git-common-dir"], cwd=path)))
    common_dir = common if common.is_absolute() else (path / common)
    rel = os.path.relpath(os.path.realpath(path), top)
    prefix = "" if rel == "." else Path(rel).as_posix()
    return RepoLocation(top, git_dir, Path(os.path.realpath(common_dir)), prefix)


def _ancestor_gitignores(prefix: str) -> list[str]:
    parts = prefix.split("/") if prefix else []
    return ["/".join([*parts[:depth], ".gitignore"]) for depth in range(len(parts))]


def _mirror_ignore_config(repo: RepoLocation, tree: Path) -> None:
    """Give the temporary repository the real one's uncommitted ignore sources."""
    _git(["init", "-q", "--template=", str(tree)], cwd=tree.parent)
    info = tree / ".git" / "info"
    info.mkdir(parents=True, exist_ok=True)
    exclude = repo.common_dir / "info" / "exclude"
    if exclude.is_file():
        shutil.copyfile(exclude, info / "exclude")
    found = _git(["config", "--path", "--get", "core.excludesFile"], cwd=repo.top, check=False)
    value = _line(found) if found.returncode == 0 else ""
    if value:
        absolute = Path(value) if Path(value).is_absolute() else repo.top / value
        _git(["config", "core.excludesFile", str(absolute)], cwd=tree)


@contextmanager
def commit_tree(path: Path, sha: str) -> Iterator[Path]:
    """Yield the directory that holds ``path``'s files as they are in commit ``sha``.

    Only the files under ``path`` (and the ``.gitignore`` files above it) are written.
    Everything is removed when the block ends.
    """
    repo = locate(path)
    tmp = Path(tempfile.mkdtemp(prefix="mixpeek-ref-"))
    try:
        tree = tmp / "tree"
        tree.mkdir()
        _mirror_ignore_config(repo, tree)
        env = {**clean_git_env(), "GIT_INDEX_FILE": str(tmp / "index")}
        git_dir = ["--git-dir", str(repo.git_dir), "--literal-pathspecs"]
        _git([*git_dir, "read-tree", sha], cwd=tmp, env=env)
        pathspecs = [f"{repo.prefix}/", *_ancestor_gitignores(repo.prefix)] if repo.prefix else []
        listed = _git([*git_dir, "ls-files", "-z", "--", *pathspecs], cwd=tmp, env=env).stdout
        if repo.prefix and not any(
            name.startswith(repo.prefix.encode() + b"/") for name in listed.split(b"\0")
        ):
            raise UsageError(
                f"{repo.prefix} holds no file in commit {sha[:12]}",
                hint="pick a commit that has it, or another PATH",
            )
        _git(
            [*git_dir, "--work-tree", str(tree), "checkout-index", "-f", "-z", "--stdin"],
            cwd=tmp,
            env=env,
            input_bytes=listed,
        )
        target = tree / repo.prefix if repo.prefix else tree
        yield target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
