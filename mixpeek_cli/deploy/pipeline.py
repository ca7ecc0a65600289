"""The deploy, stage by stage: bundle, git metadata, upload, create, follow.

This module decides the order and the data passed between stages. It talks to
the user only through a :class:`~mixpeek_cli.output.reporter.Reporter` and returns a
:class:`DeployResult` that the CLI renders for people or as JSON.
"""

from __future__ import annotations

import heapq
import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mixpeek_cli import interrupts
from mixpeek_cli.config.settings import Settings
from mixpeek_cli.errors import ExitCode, Interrupted, MixpeekError, UsageError
from mixpeek_cli.git.meta import GitInfo, read_git_info
from mixpeek_cli.output.reporter import Reporter

if TYPE_CHECKING:
    from mixpeek_cli.bundle.build import Bundle
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.models import DeployInfo
    from mixpeek_cli.upload import PreviousUpload, Uploaded

LARGEST_SHOWN = 5


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


@dataclass(kw_only=True)
class DeployResult:
    """What happened; rendered by :mod:`mixpeek_cli.deploy.report` (its JSON is a contract)."""

    app_id: str | None
    environment: str
    message: str
    deploy_id: str | None = None
    status: str | None = None
    url: str | None = None
    error: str | None = None
    bundle_s3_key: str | None = None
    bundle_sha256: str
    bundle_bytes: int
    file_count: int
    input_bytes: int
    source_files_count: int
    source_files_skipped: int
    git_commit_sha: str | None
    git_commit_message: str | None
    git_author: str | None
    upload_reused: bool = False
    smoke_test: dict[str, Any] | None = None
    dry_run: bool = False
    waited: bool = True
    timed_out: bool = False
    largest_files: list[tuple[str, int]] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    source: str = "cli_upload"
    audit: dict[str, Any] | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.dry_run or not self.waited:
            return ExitCode.OK
        if self.timed_out:
            return ExitCode.TIMEOUT
        if self.status == "failed":
            return ExitCode.DEPLOY_FAILED
        return ExitCode.OK if self.status == "complete" else ExitCode.API

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "app_id": self.app_id,
            "deploy_id": self.deploy_id,
            "status": self.status,
            "environment": self.environment,
            "message": self.message,
            "url": self.url,
            "error": self.error,
            "bundle_s3_key": self.bundle_s3_key,
            "bundle_sha256": self.bundle_sha256,
            "bundle_bytes": self.bundle_bytes,
            "file_count": self.file_count,
            "input_bytes": self.input_bytes,
            "source_files_count": self.source_files_count,
            "source_files_skipped": self.source_files_skipped,
            "git_commit_sha": self.git_commit_sha,
            "git_commit_message": self.git_commit_message,
            "git_author": self.git_author,
            "upload_reused": self.upload_reused,
            "smoke_test": self.smoke_test,
            "dry_run": self.dry_run,
            "timed_out": self.timed_out,
            "largest_files": [{"path": p, "bytes": n} for p, n in self.largest_files],
            "log_tail": self.log_tail,
            "source": self.source,
        }
        if self.audit is not None:
            data["audit"] = self.audit
        if self.source == "git":
            # Nothing was bundled: say so rather than report zeros.
            data.update(dict.fromkeys(_BUNDLE_KEYS))
        return data


_BUNDLE_KEYS = (
    "bundle_s3_key",
    "bundle_sha256",
    "bundle_bytes",
    "file_count",
    "input_bytes",
    "source_files_count",
    "source_files_skipped",
)


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
    bundles = request.source != "git"  # --source git sends no bundle
    _preload(*(_BUNDLE_STAGE if bundles else ()), *(() if request.dry_run else _API_STAGE))
    if request.source == "git":
        from mixpeek_cli.deploy.git_source import deploy_from_git

        return deploy_from_git(settings, request, reporter, root=root, trace=trace)
    if request.ref is None:
        git = read_git_info(root)
        if git.dirty:
            reporter.warn("there are uncommitted changes: the working tree is deployed, not HEAD")
        return _deploy_bundle(settings, request, reporter, trace=trace, root=root, git=git)
    from mixpeek_cli.git.meta import read_commit_info
    from mixpeek_cli.git.tree import commit_tree

    git = read_commit_info(root, request.ref)
    reporter.info(f"deploying commit {git.commit_sha}: {git.subject or ''}".rstrip(": "))
    with commit_tree(root, git.commit_sha or request.ref) as tree:
        return _deploy_bundle(settings, request, reporter, trace=trace, root=tree, git=git)


def _deploy_bundle(
    settings: Settings,
    request: DeployRequest,
    reporter: Reporter,
    *,
    trace: Callable[[str], None] | None,
    root: Path,
    git: GitInfo,
) -> DeployResult:
    """Bundle ``root`` (the working tree, or a commit's files) and deploy it."""
    message = resolve_message(request.message, git)

    from mixpeek_cli.bundle.build import build_bundle
    from mixpeek_cli.bundle.secrets.files import make_guard
    from mixpeek_cli.bundle.source_files import sources_for

    bundle = build_bundle(
        root,
        reporter,
        guard=make_guard(request.include_secrets, reporter),
        # --ref bundles a temporary checkout: a path no later run will bundle again.
        use_cache=request.ref is None,
    )
    try:
        sources = sources_for(bundle)
        largest = heapq.nsmallest(LARGEST_SHOWN, bundle.files, key=lambda f: (-f.size, f.path))
        result = DeployResult(
            app_id=settings.app_id,
            environment=settings.environment,
            message=message,
            bundle_sha256=bundle.sha256,
            bundle_bytes=bundle.size,
            file_count=len(bundle.files),
            input_bytes=bundle.input_bytes,
            source_files_count=sources.count,
            source_files_skipped=sources.skipped,
            git_commit_sha=git.commit_sha,
            git_commit_message=git.commit_message,
            git_author=git.author,
            dry_run=request.dry_run,
            waited=request.wait,
            largest_files=[(f.path, f.size) for f in largest],
        )
        if request.dry_run:
            from mixpeek_cli.bundle.audit import build_audit
            from mixpeek_cli.bundle.walk import collect_files
            from mixpeek_cli.output.reporter import NullReporter

            # Collected again, quietly: the audit lists what the secret guard dropped too.
            collected = collect_files(root, NullReporter())
            result.audit = build_audit(root, collected, bundle.files)
            return result
        app_id, _ = settings.require_remote()
        from mixpeek_cli.deploy.app_lookup import AppLookup
        from mixpeek_cli.service.client import RawJson
        from mixpeek_cli.upload import BundleZip, upload_bundle

        with open_api(settings, trace) as api:
            # Only now, with every local stage passed, does anything reach the network.
            site = AppLookup(api, app_id, settings.base_url, trace)
            try:
                uploaded = upload_bundle(
                    BundleZip(path=bundle.zip_path, size=bundle.size, sha256=bundle.sha256),
                    api=api,
                    app_id=app_id,
                    reporter=reporter,
                    previous=_previous_upload(bundle, settings, app_id),
                    trace=trace,
                )
            except KeyboardInterrupt:
                raise Interrupted(
                    "interrupted during the upload; no deploy was created",
                    hint="run the deploy again",
                ) from None
            _remember_upload(bundle, settings, app_id, uploaded)
            result.bundle_s3_key = uploaded.bundle_s3_key
            result.upload_reused = uploaded.reused
            body = {
                "message": message,
                "environment": settings.environment,
                "source": "cli_upload",
                "bundle_s3_key": uploaded.bundle_s3_key,
                "source_files": RawJson(sources.json),
                "git_commit_sha": git.commit_sha,
                "git_commit_message": git.commit_message,
                "git_author": git.author,
            }
            return create_and_follow(
                api, app_id, body, request, settings, reporter, result, site=site, trace=trace
            )
    finally:
        bundle.cleanup()  # keeps a zip the re-deploy cache holds


def open_api(settings: Settings, trace: Callable[[str], None] | None) -> ApiClient:
    """The API client for one deploy: every call's retries stop at the overall --timeout."""
    from mixpeek_cli.service.client import ApiClient

    _, api_key = settings.require_remote()
    return ApiClient(
        settings.base_url,
        api_key,
        namespace=settings.namespace,
        trace=trace,
        deadline=time.monotonic() + settings.timeout,
    )


def _previous_upload(bundle: Bundle, settings: Settings, app_id: str) -> PreviousUpload | None:
    """The earlier upload of this very bundle to this API and app, kept with the bundle."""
    from mixpeek_cli.upload.reuse import decode, record_name

    data = bundle.cached_extra(record_name(settings.base_url, app_id))
    if data is None:
        return None
    return decode(data, base_url=settings.base_url, app_id=app_id, size=bundle.size)


def _remember_upload(bundle: Bundle, settings: Settings, app_id: str, uploaded: Uploaded) -> None:
    from mixpeek_cli.upload.reuse import PreviousUpload, record_name

    if uploaded.reused:
        return
    record = PreviousUpload(
        base_url=settings.base_url,
        app_id=app_id,
        bundle_s3_key=uploaded.bundle_s3_key,
        size=bundle.size,
        md5=uploaded.md5,
        uploaded_at=uploaded.uploaded_at,
    )
    bundle.keep_extra(record_name(settings.base_url, app_id), record.encode())


def create_and_follow(
    api: ApiClient,
    app_id: str,
    body: dict[str, Any],
    request: DeployRequest,
    settings: Settings,
    reporter: Reporter,
    result: DeployResult,
    *,
    site: AppLookup,
    trace: Callable[[str], None] | None = None,
) -> DeployResult:
    """POST the deploy, then (unless --no-wait) follow it; ``result`` is filled in and returned."""
    from mixpeek_cli.deploy.follow import follow_deploy

    # A Ctrl-C while the POST is in flight waits for its answer: the deploy may
    # already exist server-side, and the user must learn its id.
    with interrupts.deferred() as held:
        deploy = api.create_deploy(app_id, body, idempotency_key=str(uuid.uuid4()))
    # From here a Ctrl-C must still name the deploy, even while saying it exists.
    try:
        _absorb(result, deploy)
        reporter.info(f"deploy {deploy.deploy_id} created ({deploy.status})")
        if held.interrupted:
            raise KeyboardInterrupt
        if not request.wait:
            result.url = site.url(result.environment)
            return result
        followed = follow_deploy(
            api,
            deploy,
            reporter=reporter,
            poll_interval=settings.poll_interval,
            timeout=settings.timeout,
            trace=trace,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; deploy {deploy.deploy_id} goes on server-side",
            hint=f"follow it with: mixpeek deploys status {deploy.deploy_id} --wait",
            deploy_id=deploy.deploy_id,
        ) from None
    except MixpeekError as exc:
        # Following failed, not the deploy: say which one it was and how to look again.
        exc.deploy_id = deploy.deploy_id
        exc.hint = f"deploy {deploy.deploy_id} exists; check on it with: " + (
            f"mixpeek deploys status {deploy.deploy_id} --wait"
        )
        raise
    _absorb(result, followed.deploy)
    result.timed_out = followed.timed_out
    result.log_tail = followed.log_tail
    result.url = site.url(result.environment)
    return result


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
    "mixpeek_cli.deploy.follow",
    "httpx_sse",
)


def _preload(*modules: str) -> None:
    """Import ``modules`` on a thread while git metadata is read.

    They cost ~100 ms to import (httpx ~70 ms) and are first needed after git's
    subprocesses, which leave the interpreter idle meanwhile. The import lock makes a
    later ``import`` on the main thread wait for this one rather than import twice.
    """
    if not modules:
        return

    def run() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return  # the main thread's own import reports it, in one line

    threading.Thread(target=run, name="mixpeek-preload", daemon=True).start()


def _absorb(result: DeployResult, deploy: DeployInfo) -> None:
    result.deploy_id = deploy.deploy_id
    result.status = deploy.status
    result.error = deploy.error
    if deploy.smoke_test is not None:
        result.smoke_test = deploy.smoke_test.to_json()
    if deploy.environment:
        result.environment = deploy.environment
