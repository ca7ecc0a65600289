"""The deploy, stage by stage: git metadata, then a bundle and its upload, or git as the source.

This module decides which path a deploy takes and starts loading what the later stages
need. The stages talk to the user only through a
:class:`~mixpeek_cli.output.reporter.Reporter`; the result is a
:class:`~mixpeek_cli.deploy.result.DeployResult` that the CLI renders.
"""

from __future__ import annotations

import functools
import importlib
import threading
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
    api = () if request.dry_run else (*_API_STAGE, *(_FOLLOW_STAGE if request.wait else ()))
    if request.source == "git":  # no bundle: the API is what comes next
        _preload(*api)
        from mixpeek_cli.deploy.git_source import deploy_from_git

        return deploy_from_git(settings, request, reporter, root=root, trace=trace)
    # The API stage's modules are imported while the zip is written, not now: a thread
    # importing them beside the walk took the interpreter lock from it (a first deploy of
    # the benchmark app was ~80 ms slower that way). An unchanged tree writes no zip, and
    # its deploy imports them when it needs them.
    _preload(*_BUNDLE_STAGE)
    beside_zip = functools.partial(_import_all, api) if api else None
    from mixpeek_cli.deploy.upload_source import deploy_bundle

    if request.ref is None:
        git = read_git_info(root)
        if git.dirty:
            reporter.warn("there are uncommitted changes: the working tree is deployed, not HEAD")
        return deploy_bundle(
            settings, request, reporter, trace=trace, root=root, git=git, beside_zip=beside_zip
        )
    from mixpeek_cli.git.meta import read_commit_info
    from mixpeek_cli.git.tree import commit_tree

    git = read_commit_info(root, request.ref)
    reporter.info(f"deploying commit {git.commit_sha}: {git.subject or ''}".rstrip(": "))
    with commit_tree(root, git.commit_sha or request.ref) as tree:
        return deploy_bundle(
            settings, request, reporter, trace=trace, root=tree, git=git, beside_zip=beside_zip
        )


# What the stages after git metadata import, in the order they need it.
_BUNDLE_STAGE = (
    "mixpeek_cli.bundle.build",
    "mixpeek_cli.bundle.secrets.files",
    "mixpeek_cli.bundle.source_files",
)
# httpcore too: httpx imports it only when the first client is made (~15 ms).
_API_STAGE = (
    "httpx",
    "httpcore",
    "mixpeek_cli.service.client",
    "mixpeek_cli.upload",
)
# Only a deploy that waits follows the build (--no-wait has no use for them).
_FOLLOW_STAGE = ("mixpeek_cli.deploy.follow", "mixpeek_cli.service.sse")


def _preload(*modules: str) -> None:
    """Import ``modules`` on a thread while git metadata is read.

    They are first needed after git's subprocesses, which leave the interpreter idle
    meanwhile. The import lock makes a later ``import`` on the main thread wait for this
    one rather than import twice.
    """
    if modules:
        threading.Thread(
            target=_import_all, args=(modules,), name="mixpeek-preload", daemon=True
        ).start()


def _import_all(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            return  # the main thread's own import reports it, in one line
