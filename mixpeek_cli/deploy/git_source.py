"""``mixpeek deploy --source git``: no bundle; the service fetches and builds a commit.

The commit must already be on a remote-tracking branch: a commit only this clone has
cannot be fetched by the service, so that deploy is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mixpeek_cli.config.settings import Settings
from mixpeek_cli.deploy.create import create_and_follow
from mixpeek_cli.deploy.request import DeployRequest, resolve_message
from mixpeek_cli.deploy.result import DeployResult
from mixpeek_cli.errors import UsageError
from mixpeek_cli.git.meta import read_commit_info, remote_branches_containing
from mixpeek_cli.output.reporter import Reporter


def deploy_from_git(
    settings: Settings,
    request: DeployRequest,
    reporter: Reporter,
    *,
    root: Path,
    trace: Callable[[str], None] | None = None,
) -> DeployResult:
    """Deploy a pushed commit of the repository holding ``root`` (already checked)."""
    git = read_commit_info(root, request.ref or "HEAD")
    sha = git.commit_sha or ""
    branches = remote_branches_containing(root, sha)
    if not branches:
        raise UsageError(
            f"commit {sha[:12]} is on no remote-tracking branch, so the service cannot fetch it",
            hint="push it first (then git fetch), or deploy without --source git",
        )
    reporter.info(f"deploying commit {sha} (on {', '.join(branches[:3])}) with source git")
    result = DeployResult(
        app_id=settings.app_id,
        environment=settings.environment,
        message=resolve_message(request.message, git),
        source="git",
        bundle_sha256="",
        bundle_bytes=0,
        file_count=0,
        input_bytes=0,
        source_files_count=0,
        source_files_skipped=0,
        git_commit_sha=git.commit_sha,
        git_commit_message=git.commit_message,
        git_author=git.author,
        dry_run=request.dry_run,
        waited=request.wait,
    )
    if request.dry_run:
        return result
    app_id, _ = settings.require_remote()
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.service.client import client_for

    body = {
        "message": result.message,
        "environment": settings.environment,
        "source": "git",
        "git_commit_sha": git.commit_sha,
        "git_commit_message": git.commit_message,
        "git_author": git.author,
    }
    with client_for(settings, trace, notify=reporter.warn) as api:
        site = AppLookup(api, app_id, settings.base_url, trace)
        return create_and_follow(
            api, app_id, body, request, settings, reporter, result, site=site, trace=trace
        )
