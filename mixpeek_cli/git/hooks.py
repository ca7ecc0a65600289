"""The git pre-push hook: writing it, chaining to a hook already there, and reading a push.

The hook is a small ``sh`` script that hands git's stdin to ``python -m mixpeek_cli
hooks pre-push`` with the settings chosen at install time, using the interpreter that
installed it (so it works from a virtualenv that is not on the pusher's PATH). A
marker line tells our hook from anyone else's: a foreign hook is never overwritten;
with ``--chain`` it is moved aside and run first, with the same stdin and arguments,
and ``uninstall`` puts it back.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mixpeek_cli.atomic import write_atomically
from mixpeek_cli.errors import UsageError
from mixpeek_cli.git.tree import clean_git_env

HOOK_NAME = "pre-push"
CHAINED_NAME = "pre-push.mixpeek-chained"
MARKER = "# mixpeek-cli pre-push hook"
ZERO_SHA_CHARS = frozenset("0")


def _git(args: list[str], cwd: Path) -> str | None:
    """stdout of a git command, or None when it fails."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=clean_git_env(), capture_output=True, text=True
        )
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="install git") from None
    return proc.stdout.strip() if proc.returncode == 0 else None


@dataclass(frozen=True)
class HookPaths:
    top: Path  # the repository's working tree top
    hooks_dir: Path  # where git looks for hooks (core.hooksPath honoured)

    @property
    def hook(self) -> Path:
        return self.hooks_dir / HOOK_NAME

    @property
    def chained(self) -> Path:
        return self.hooks_dir / CHAINED_NAME


def hook_paths(path: Path) -> HookPaths:
    top = _git(["rev-parse", "--show-toplevel"], path)
    if not top:
        raise UsageError(f"{path} is not in a git repository", hint="run this inside your repo")
    # --git-path applies core.hooksPath (relative values are relative to the top).
    hooks = _git(["rev-parse", "--git-path", "hooks"], Path(top))
    if not hooks:
        raise UsageError("cannot find the repository's hooks directory", hint="check git config")
    hooks_dir = Path(hooks) if Path(hooks).is_absolute() else Path(top) / hooks
    return HookPaths(Path(top), Path(os.path.normpath(hooks_dir)))


def current_branch(path: Path) -> str | None:
    """The checked-out branch's short name; None on a detached HEAD."""
    return _git(["symbolic-ref", "--short", "-q", "HEAD"], path) or None


def is_ours(hook: Path) -> bool:
    try:
        with hook.open("r", encoding="utf-8", errors="replace") as fh:
            return MARKER in fh.read(4096)
    except OSError:
        return False


def render_script(
    *,
    python: str,
    branch: str,
    app_path: str,
    environment: str | None,
    block: bool,
    watch_args: Sequence[str] = (),
) -> str:
    """The hook; ``watch_args`` (``--watch 5m --rollback-on-failure`` ...) go to pre-push."""
    args = ["-m", "mixpeek_cli", "hooks", "pre-push", "--branch", branch, "--path", app_path]
    if environment:
        args += ["--environment", environment]
    if not block:
        args.append("--no-block")
    args += watch_args
    command = " ".join(shlex.quote(part) for part in [python, *args])
    return f"""#!/bin/sh
{MARKER}: deploys pushes of {branch} with `mixpeek deploy --ref`.
# Written by `mixpeek hooks install`; remove it with `mixpeek hooks uninstall`.
# Skip it once with `git push --no-verify`.
input=$(cat)
chained="$(dirname "$0")/{CHAINED_NAME}"
if [ -x "$chained" ]; then
  if [ -n "$input" ]; then printf '%s\\n' "$input"; fi | "$chained" "$@" || exit $?
fi
if [ -n "$input" ]; then printf '%s\\n' "$input"; fi | {command} "$@"
"""


@dataclass(frozen=True)
class Installed:
    hook: Path
    chained: Path | None  # the foreign hook now run first, if any
    replaced_own: bool  # an earlier mixpeek hook was updated


def install_hook(
    paths: HookPaths,
    *,
    script: str,
    chain: bool,
) -> Installed:
    hook, chained = paths.hook, paths.chained
    replaced_own = False
    moved: Path | None = chained if chained.exists() else None
    if hook.exists() or hook.is_symlink():
        if is_ours(hook):
            replaced_own = True
        elif not chain:
            raise UsageError(
                f"{hook} already exists and was not written by mixpeek; left it alone",
                hint="pass --chain to run it before the deploy, or remove it first",
            )
        elif chained.exists() or chained.is_symlink():
            raise UsageError(
                f"{hook} is not ours and {chained} already exists",
                hint="merge them by hand, then run mixpeek hooks install again",
            )
        else:
            os.replace(hook, chained)
            moved = chained
    paths.hooks_dir.mkdir(parents=True, exist_ok=True)
    # Executable as the umask allows, like any program a user's tools create.
    write_atomically(hook, script.encode("utf-8"), mode=0o777)
    return Installed(hook=hook, chained=moved, replaced_own=replaced_own)


@dataclass(frozen=True)
class Uninstalled:
    hook: Path
    removed: bool
    restored: Path | None  # the chained hook put back in place


def uninstall_hook(paths: HookPaths) -> Uninstalled:
    hook, chained = paths.hook, paths.chained
    if not (hook.exists() or hook.is_symlink()):
        return Uninstalled(hook=hook, removed=False, restored=None)
    if not is_ours(hook):
        raise UsageError(
            f"{hook} was not written by mixpeek; left it alone",
            hint="remove it by hand if you want it gone",
        )
    hook.unlink()
    if chained.exists() or chained.is_symlink():
        os.replace(chained, hook)
        return Uninstalled(hook=hook, removed=True, restored=hook)
    return Uninstalled(hook=hook, removed=True, restored=None)


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def is_deletion(self) -> bool:
        return set(self.local_sha) <= ZERO_SHA_CHARS

    @property
    def is_tag(self) -> bool:
        return self.remote_ref.startswith("refs/tags/")


def parse_push_lines(text: str) -> list[PushedRef]:
    """git's pre-push stdin: ``<local ref> <local sha> <remote ref> <remote sha>`` lines."""
    refs = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise UsageError(
                f"unexpected pre-push input line {line!r}",
                hint="this command is run by git's pre-push hook; see docs/hooks.md",
            )
        refs.append(PushedRef(*parts))
    return refs


def refs_from_pre_commit(env: Mapping[str, str]) -> list[PushedRef]:
    """The push as the pre-commit framework describes it (it consumes git's stdin)."""
    to_ref = env.get("PRE_COMMIT_TO_REF")
    if not to_ref:
        return []
    return [
        PushedRef(
            local_ref=env.get("PRE_COMMIT_LOCAL_BRANCH", ""),
            local_sha=to_ref,
            remote_ref=env.get("PRE_COMMIT_REMOTE_BRANCH", ""),
            remote_sha=env.get("PRE_COMMIT_FROM_REF", ""),
        )
    ]


def select_refs(refs: list[PushedRef], branch: str) -> tuple[list[PushedRef], list[str]]:
    """The pushes to deploy (to ``refs/heads/<branch>`` on the remote) and why others are not."""
    wanted = f"refs/heads/{branch}"
    chosen: list[PushedRef] = []
    skipped: list[str] = []
    for ref in refs:
        if ref.is_deletion:
            skipped.append(f"{ref.remote_ref}: a deletion")
        elif ref.is_tag:
            skipped.append(f"{ref.remote_ref}: a tag")
        elif ref.remote_ref not in (wanted, branch):
            skipped.append(f"{ref.remote_ref}: not {wanted}")
        else:
            chosen.append(ref)
    return chosen, skipped
