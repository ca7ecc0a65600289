"""``POST .../versions/{version}/restore``: a deploy that puts an earlier version back.

"Instant rollback to any previous version": the version's files are kept with it, so a
restore reads nothing from S3 and builds nothing. It is a deploy like any other (status,
log stream, smoke test), only quicker. With B = min(``build_seconds``, 0.5) and
Q = min(0.2, B/4):

* ``queued`` until Q, with no log line;
* at Q ``building``: "Restoring version N (content <first 12 of its content hash>)...";
* halfway from Q to B: "Publishing N assets..." (N: the version's files);
* at B: ``failed`` with "Deploy failed: <reason>" when ``fail_builds_with`` was set when
  the restore was asked (a failed restore changes nothing); otherwise the version's
  files become what the environment serves, the smoke test GETs them, and the deploy is
  ``complete`` with "Deploy complete!".

A restore makes no new version: the restored one now lists the environment, and the one
that served it before no longer does (``state.versions`` reads that from the sites).
Its status says ``source: "cli_upload"``: the published enum has no other value for it.

``POST .../promote`` is such a restore: of the version staging serves, to production
(its deploy's message "Promote version N from staging").
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from mixpeek_cli.emulator.builder import (
    COMPLETE_LINE,
    FAILED_PREFIX,
    Stopped,
    sleep_until,
)
from mixpeek_cli.emulator.errors import ApiError, not_found
from mixpeek_cli.emulator.models import RestoreRequest, RestoreStarted
from mixpeek_cli.emulator.records import Deploy, new_id, utc_now
from mixpeek_cli.emulator.smoke import smoke_test
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.emulator.versions import Version, asset_prefix

logger = logging.getLogger(__name__)

# A restore republishes stored files: it never takes as long as a build may.
MAX_SECONDS = 0.5
HASH_SHOWN = 12
# The error code of a promote with nothing on staging (the emulator's choice: unpublished).
NOTHING_TO_PROMOTE = "staging_not_deployed"


@dataclass(frozen=True)
class _Plan:
    deploy_id: str
    environment: str
    version: Version
    seconds: float
    fail_with: str | None
    smoke_test_errors: list[str] | None


def restore_version(
    state: EmulatorState, app_id: str, number: int, body: RestoreRequest
) -> RestoreStarted:
    """Queue the restore of version ``number`` to ``body.environment``; 404 without it."""
    version = state.version(app_id, number)
    if version is None:
        raise not_found(f"Version {number} of app {app_id}", "version_not_found")
    request = body.model_dump(mode="json")
    return _start(state, version, body.environment, f"Restore version {number}", request)


def promote_staging(state: EmulatorState, app_id: str) -> RestoreStarted:
    """``POST .../promote``: production gets what staging serves now, as a restore of that
    version to production does; 400 ``BadRequestError`` when staging serves nothing."""
    served = state.serving(app_id).get("staging")
    version = state.version(app_id, served[1]) if served is not None else None
    if version is None:
        raise ApiError(
            400,
            "BadRequestError",
            f"Nothing to promote: staging of app {app_id} serves no version yet. "
            "Deploy to staging first.",
            NOTHING_TO_PROMOTE,
        )
    message = f"Promote version {version.version} from staging"
    return _start(state, version, "production", message, {})


def _start(
    state: EmulatorState,
    version: Version,
    environment: str,
    message: str,
    request: dict[str, Any],
) -> RestoreStarted:
    app_id = version.app_id
    deploy = Deploy(
        app_id=app_id,
        deploy_id=new_id("dep"),
        environment=environment,
        source="cli_upload",
        bundle_s3_key=version.bundle_s3_key,
        message=message,
        request=request,
        queued_at=utc_now(),
    )
    state.add_restore(deploy, version.version)
    # Read once, when the restore is asked, as for builds.
    config = state.config
    plan = _Plan(
        deploy_id=deploy.deploy_id,
        environment=environment,
        version=version,
        seconds=min(config.build_seconds, MAX_SECONDS),
        fail_with=config.fail_builds_with,
        smoke_test_errors=config.smoke_test_errors,
    )
    # Daemon, as builds: a restore still sleeping must never keep stop() waiting.
    threading.Thread(
        target=_run, args=(state, plan), name=f"restore-{deploy.deploy_id}", daemon=True
    ).start()
    return RestoreStarted(
        app_id=app_id,
        version=version.version,
        deploy_id=deploy.deploy_id,
        environment=environment,
        asset_prefix=asset_prefix(app_id, version.version),
    )


def _run(state: EmulatorState, plan: _Plan) -> None:
    try:
        _restore(state, plan)
    except Stopped:
        return
    except Exception:
        # A bug in the emulator must not leave a deploy "building" forever.
        logger.exception("emulated restore %s crashed", plan.deploy_id)
        reason = "internal emulator error"
        state.finish(plan.deploy_id, "failed", FAILED_PREFIX + reason, error=reason)


def _restore(state: EmulatorState, plan: _Plan) -> None:
    started = time.monotonic()
    version = plan.version
    queued = min(0.2, plan.seconds / 4)
    sleep_until(state, started + queued)
    content = version.content_hash[:HASH_SHOWN]
    state.log(
        plan.deploy_id,
        f"Restoring version {version.version} (content {content})...",
        status="building",
    )
    sleep_until(state, started + queued + (plan.seconds - queued) / 2)
    state.log(plan.deploy_id, f"Publishing {len(version.files)} assets...")
    sleep_until(state, started + plan.seconds)
    if plan.fail_with is not None:
        reason = plan.fail_with
        state.finish(plan.deploy_id, "failed", FAILED_PREFIX + reason, error=reason)
        return
    state.sites.publish(
        version.app_id,
        plan.environment,
        version.files,
        deploy_id=plan.deploy_id,
        bundle_s3_key=version.bundle_s3_key,
    )
    smoke = smoke_test(
        state.api_base_url, state.slug_of(version.app_id), plan.environment, plan.smoke_test_errors
    )
    if state.stopping.is_set():
        raise Stopped
    state.finish(plan.deploy_id, "complete", COMPLETE_LINE, smoke_test=smoke)
