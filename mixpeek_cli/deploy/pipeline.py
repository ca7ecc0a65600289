"""The deploy, stage by stage: git metadata, then a bundle and its upload, or git as the source.

This module decides which path a deploy takes. The stages talk to the user only through a
:class:`~mixpeek_cli.output.reporter.Reporter`; the result is a
:class:`~mixpeek_cli.deploy.result.DeployResult` that the CLI renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mixpeek_cli.deploy.request import DeployRequest, check_directory
from mixpeek_cli.deploy.result import DeployResult
from mixpeek_cli.git.meta import read_git_info

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.output.reporter import Reporter


def run_deploy(
    settings: Settings,
    request: DeployRequest,
    reporter: Reporter,
    *,
    trace: Callable[[str], None] | None = None,
) -> DeployResult:
    root = check_directory(request.path)
    if not request.dry_run:
        settings.require_remote()
    if request.source == "git":  # no bundle: the API is what comes next
        from mixpeek_cli.deploy.git_source import deploy_from_git

        return deploy_from_git(settings, request, reporter, root=root, trace=trace)
    from mixpeek_cli.deploy.upload_source import deploy_bundle

    if request.ref is None:
        git = read_git_info(root)
        if git.dirty:
            reporter.warn("there are uncommitted changes: the working tree is deployed, not HEAD")
        return deploy_bundle(settings, request, reporter, trace=trace, root=root, git=git)
    from mixpeek_cli.git.meta import read_commit_info
    from mixpeek_cli.git.tree import commit_tree

    git = read_commit_info(root, request.ref)
    reporter.info(f"deploying commit {git.commit_sha}: {git.subject or ''}".rstrip(": "))
    with commit_tree(root, git.commit_sha or request.ref) as tree:
        return deploy_bundle(settings, request, reporter, trace=trace, root=tree, git=git)
