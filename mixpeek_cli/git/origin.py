"""The local repository's GitHub home: its ``origin`` remote and current branch (GitPython),
and a repository URL in the one form the service is given.

``git@github.com:acme/site.git``, ``ssh://git@github.com/acme/site``,
``https://user:token@github.com/acme/site.git`` and ``github.com/acme/site`` all become
``https://github.com/acme/site``: no credentials (a token in an https remote is never
sent, shown or logged), no ``.git``, no trailing slash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mixpeek_cli.errors import UsageError

GITHUB = "github.com"
# GitHub's rules: owner 1-39 of [A-Za-z0-9-]; a repository name of [A-Za-z0-9._-].
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class LocalRepo:
    origin: str | None  # the origin's URL as git has it (may hold credentials: never shown)
    branch: str | None  # None: detached HEAD, or no commit yet


def github_repo_url(url: str) -> str | None:
    """``url`` as ``https://github.com/OWNER/REPO``; None when it is no GitHub repository."""
    text = url.strip()
    scp = _SCP.match(text) if "://" not in text else None
    if scp is not None:
        host, path = scp["host"], scp["path"]
    else:
        if "://" not in text:
            text = "https://" + text
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("https", "http", "ssh", "git", "git+ssh"):
            return None
        authority, _, path = rest.partition("/")
        host = authority.rpartition("@")[2].split(":")[0]  # no user, password or port
    if host.lower() not in (GITHUB, "www." + GITHUB):
        return None
    parts = [part for part in path.split("/") if part]
    if len(parts) != 2:
        return None
    owner, name = parts[0], parts[1].removesuffix(".git")
    if not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name) or name in (".", ".."):
        return None
    return f"https://{GITHUB}/{owner}/{name}"


def read_local_repo(path: Path) -> LocalRepo:
    """The ``origin`` remote's URL and the current branch of the repository holding
    ``path``; UsageError when there is no repository."""
    from mixpeek_cli.git.meta import gitpython

    git = gitpython()
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(
            f"{path.resolve()} is not in a git repository",
            hint="pass the repository's URL: mixpeek git connect https://github.com/OWNER/REPO",
        ) from None
    with repo:
        origin = None
        if "origin" in [remote.name for remote in repo.remotes]:
            urls = list(repo.remote("origin").urls)
            origin = urls[0] if urls else None
        try:
            branch: str | None = repo.active_branch.name
        except TypeError:  # a detached HEAD
            branch = None
    return LocalRepo(origin=origin, branch=branch)
