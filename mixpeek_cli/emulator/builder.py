"""The emulated build: a background thread that walks one deploy to its final status.

Timeline, with B = the ``build_seconds`` in force when the deploy was created,
Q = ``min(0.2, B/4)`` and S = (B - Q) / 4; the lines are the published wording:

* ``queued`` until Q, with no log line;
* at Q ``building``: "Downloading bundle from S3..." (the bundle is read now: a missing
  one fails the build at once);
* at Q + S "Extracting bundle..." (a non-zip, corrupt or file-less bundle fails here);
* at Q + 2S "Validating bundle (index.html, size)..." (a bundle without ``index.html`` at
  its root or in a single top-level folder, or with a path leaving the root, fails here);
* at Q + 3S "Uploading N assets to S3..." (N: the files in the zip);
* at B: ``failed`` with "Deploy failed: <reason>" when the zip holds a root-level
  ``MIXPEEK_FAIL_BUILD`` file (its stripped text is the reason) or ``fail_builds_with``
  was set (these two win over what validation found: a build told to fail fails with
  that reason); otherwise the site is published to the deploy's environment
  (``state.sites.publish``), the smoke test GETs it for real, and the deploy is
  ``complete`` with "Deploy complete!", becoming in the same step the app's next version
  (see ``versions``).

``source="git"`` deploys read nothing from S3 and publish nothing: two lines say so, then
the same end (the smoke test GETs whatever the environment already serves). Every line is
stored as it happens, so a log stream sees the build progress.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mixpeek_cli.emulator.bundles import BundleError, open_bundle
from mixpeek_cli.emulator.models import DeployStatus
from mixpeek_cli.emulator.smoke import smoke_test
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.emulator.storage import MISSING_CODES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

COMPLETE_LINE = "Deploy complete!"
FAILED_PREFIX = "Deploy failed: "


@dataclass(frozen=True)
class BuildPlan:
    app_id: str
    deploy_id: str
    environment: str
    source: str
    bundle_s3_key: str | None
    git_commit_sha: str | None
    build_seconds: float
    fail_with: str | None
    smoke_test_errors: list[str] | None


class BuildFailed(Exception):
    """A build step failed; the message is the deploy's ``error``."""


class Stopped(Exception):
    """The emulator is shutting down; abandon the build."""


def start_build(state: EmulatorState, s3: S3Client, plan: BuildPlan) -> threading.Thread:
    # Daemon: a build still sleeping must never keep the process (or stop()) waiting.
    thread = threading.Thread(
        target=_run, args=(state, s3, plan), name=f"build-{plan.deploy_id}", daemon=True
    )
    thread.start()
    return thread


def _run(state: EmulatorState, s3: S3Client, plan: BuildPlan) -> None:
    try:
        _Build(state, s3, plan).run()
    except Stopped:
        return
    except Exception:
        # A bug in the emulator must not leave a deploy "building" forever.
        logger.exception("emulated build of %s crashed", plan.deploy_id)
        reason = "internal emulator error"
        state.finish(plan.deploy_id, "failed", FAILED_PREFIX + reason, error=reason)


class _Build:
    def __init__(self, state: EmulatorState, s3: S3Client, plan: BuildPlan) -> None:
        self.state = state
        self.s3 = s3
        self.plan = plan
        self.started = time.monotonic()

    def run(self) -> None:
        plan = self.plan
        queued = min(0.2, plan.build_seconds / 4)
        step = (plan.build_seconds - queued) / 4
        self._sleep_until(queued)
        try:
            site: dict[str, bytes] | None = None
            marker = None
            if plan.source == "git":
                self._git(queued, step)
            else:
                site, marker = self._bundle(queued, step)
            self._sleep_until(plan.build_seconds)
            reason = marker if marker is not None else plan.fail_with
            if reason is not None:
                raise BuildFailed(reason)
        except BuildFailed as failure:
            reason = str(failure)
            self.state.finish(plan.deploy_id, "failed", FAILED_PREFIX + reason, error=reason)
            return
        if site is not None:
            self.state.sites.publish(
                plan.app_id,
                plan.environment,
                site,
                deploy_id=plan.deploy_id,
                bundle_s3_key=plan.bundle_s3_key,
            )
        smoke = smoke_test(
            self.state.api_base_url,
            self.state.slug_of(plan.app_id),
            plan.environment,
            plan.smoke_test_errors,
        )
        if self.state.stopping.is_set():
            raise Stopped
        self.state.finish(
            plan.deploy_id, "complete", COMPLETE_LINE, smoke_test=smoke, published=site
        )

    def _git(self, queued: float, step: float) -> None:
        commit = self.plan.git_commit_sha or "HEAD"
        self._log(f"Source is git (commit {commit}): no bundle to download from S3", "building")
        self._sleep_until(queued + 2 * step)
        self._log("Skipping bundle extraction and validation: the emulator builds no git source")

    def _bundle(self, queued: float, step: float) -> tuple[dict[str, bytes] | None, str | None]:
        """Walk the bundle stages: the site's files (None when validation failed but the
        build is told to fail anyway) and the MIXPEEK_FAIL_BUILD reason if it has one."""
        self._log("Downloading bundle from S3...", "building")
        data = self._download()
        self._sleep_until(queued + step)
        self._log("Extracting bundle...")
        try:
            bundle = open_bundle(data)
        except BundleError as exc:
            raise BuildFailed(str(exc)) from exc
        self._sleep_until(queued + 2 * step)
        self._log("Validating bundle (index.html, size)...")
        site = None
        try:
            site = bundle.site_files()
        except BundleError as exc:
            # A build told to fail fails at the end with that reason, whatever else is wrong.
            if bundle.marker is None and self.plan.fail_with is None:
                raise BuildFailed(str(exc)) from exc
        self._sleep_until(queued + 3 * step)
        # The published wording, "assets" even for one.
        self._log(f"Uploading {len(bundle.files)} assets to S3...")
        return site, bundle.marker

    def _download(self) -> bytes:
        key = self.plan.bundle_s3_key or ""
        bucket = self.state.bucket
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in MISSING_CODES:
                raise BuildFailed(f"bundle not found: s3://{bucket}/{key}") from exc
            raise BuildFailed(f"could not fetch bundle {key}: {code}") from exc
        except BotoCoreError as exc:
            raise BuildFailed(f"could not fetch bundle {key}: {exc}") from exc

    def _log(self, line: str, status: DeployStatus | None = None) -> None:
        self.state.log(self.plan.deploy_id, line, status=status)

    def _sleep_until(self, offset: float) -> None:
        sleep_until(self.state, self.started + offset)


def sleep_until(state: EmulatorState, moment: float) -> None:
    """Wait until ``time.monotonic()`` is ``moment``; Stopped if the emulator stops."""
    remaining = moment - time.monotonic()
    if remaining > 0 and state.stopping.wait(remaining):
        raise Stopped
    if state.stopping.is_set():
        raise Stopped
