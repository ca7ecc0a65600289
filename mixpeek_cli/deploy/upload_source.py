"""A ``cli_upload`` deploy: bundle the tree, upload the zip (or reuse its upload), deploy it."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.deploy.create import create_and_follow
from mixpeek_cli.deploy.request import DeployRequest, resolve_message
from mixpeek_cli.deploy.result import DeployResult
from mixpeek_cli.errors import Interrupted

if TYPE_CHECKING:
    from mixpeek_cli.bundle.build import Bundle
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.git.meta import GitInfo
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.upload import PreviousUpload, Uploaded

LARGEST_SHOWN = 5


def deploy_bundle(
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

    from mixpeek_cli.deploy.prepare import prepare_bundle

    try:
        prepared = prepare_bundle(
            settings,
            request,
            reporter,
            root=root,
            refuse=not request.dry_run,
        )
    except KeyboardInterrupt:  # a Ctrl-C during the build says so itself (Interrupted)
        raise Interrupted(
            "interrupted while bundling; nothing was sent", hint="run the deploy again"
        ) from None
    bundle, sources = prepared.bundle, prepared.sources
    try:
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
            source_files_left_out=sources.left_out_json(),
            git_commit_sha=git.commit_sha,
            git_commit_message=git.commit_message,
            git_author=git.author,
            dry_run=request.dry_run,
            waited=request.wait,
            largest_files=[(f.path, f.size) for f in largest],
            build=prepared.build.to_json() if prepared.build else None,
            output_dir=prepared.output_dir,
            bundle_check=prepared.check.to_json(),
        )
        if request.dry_run:
            if request.audit:  # a walk of its own, and a sha256 of every file
                result.audit = _audit(root, prepared.output_dir, bundle)
            return result
        app_id, _ = settings.require_remote()
        from mixpeek_cli.deploy.app_lookup import AppLookup
        from mixpeek_cli.service.client import RawJson, client_for
        from mixpeek_cli.upload import BundleZip, upload_bundle

        with client_for(settings, trace, notify=reporter.warn) as api:
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
                    deadline=settings.deadline,
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
        prepared.cleanup()  # keeps a zip the re-deploy cache holds


def _audit(project: Path, output_dir: str | None, bundle: Bundle) -> dict[str, object]:
    """What ships and what is left out, and why, under the rules that decided it."""
    from mixpeek_cli.bundle.audit import build_audit
    from mixpeek_cli.bundle.ignore import load_output_rules, output_rules
    from mixpeek_cli.bundle.walk import collect_files
    from mixpeek_cli.output.reporter import NullReporter

    root = project if output_dir is None else project / output_dir
    loader = output_rules(project, output_dir).load if output_dir else None
    # Collected again, quietly: the audit lists what the secret guard dropped too.
    collected = collect_files(root, NullReporter(), rules=loader)
    rules = load_output_rules(project, output_dir) if output_dir else None
    return build_audit(root, collected, bundle.files, rules)


def _previous_upload(bundle: Bundle, settings: Settings, app_id: str) -> PreviousUpload | None:
    """The earlier upload of these zip bytes to this API and app, kept in the bundle cache."""
    from mixpeek_cli.upload.reuse import decode, record_name

    data = bundle.cached_extra(record_name(settings.base_url, app_id), of_bytes=True)
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
    bundle.keep_extra(record_name(settings.base_url, app_id), record.encode(), of_bytes=True)
