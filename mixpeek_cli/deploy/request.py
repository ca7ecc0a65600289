"""What a deploy was asked to do, and the checks on it that need no network."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mixpeek_cli.errors import UsageError

if TYPE_CHECKING:
    from mixpeek_cli.git.meta import GitInfo


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    path: Path
    message: str | None
    wait: bool = True
    dry_run: bool = False
    include_secrets: frozenset[str] = frozenset()
    # --ref: deploy this commit's tree and metadata instead of the working tree.
    ref: str | None = None
    # "git": send no bundle; the service fetches and builds the commit itself.
    source: Literal["cli_upload", "git"] = "cli_upload"
    # --no-build: skip the build command for this run.
    build: bool = True
    # --no-bundle-check: ship even what Canvas would refuse.
    bundle_check: bool = True
    # --quiet: the build's output is held back, shown only if it fails.
    quiet: bool = False
    # --dry-run --json: list every file that ships and every one left out, and why.
    audit: bool = False


def check_directory(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="pass the directory of the app to deploy")
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory", hint="pass the app's directory, not a file")
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror or exc}", hint="fix the directory's permissions"
        ) from None
    return path.resolve()


def resolve_message(message: str | None, git: GitInfo) -> str:
    if message is not None:
        if not message.strip():
            raise UsageError("the deploy message is empty", hint='pass -m "what changed"')
        return message
    if git.subject:
        return git.subject
    raise UsageError(
        "no deploy message and no git commit to take one from", hint='pass -m "what changed"'
    )
