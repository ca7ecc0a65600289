"""The emulated build: a background thread that walks one deploy to its final status.

Timeline, with B = the ``build_seconds`` in force when the deploy was created,
Q = ``min(0.2, B/4)`` and S = (B - Q) / 4; the lines are the published wording:

* ``queued`` until Q, with no log line;
* at Q ``building``: "Downloading bundle from S3..." (the bundle is read now: a missing
  one fails the build at once);
* at Q + S "Extracting bundle..." (a non-zip, corrupt or file-less bundle fails here);
* at Q + 2S "Validating bundle (index.html, size)...";
* at Q + 3S "Uploading N assets to S3..." (N: the files in the zip);
* at B ``complete`` with "Deploy complete!" and a smoke test, or ``failed`` with
  "Deploy failed: <reason>" when the zip holds a root-level ``MIXPEEK_FAIL_BUILD`` file
  (its stripped text is the reason) or ``fail_builds_with`` was set.

``source="git"`` deploys read nothing from S3: two lines say so, then the same end. Every
line is stored as it happens, so a log stream sees the build progress.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mixpeek_cli.emulator.models import DeployStatus, SmokeTestResult
from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.sites import app_slug, site_url
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.emulator.storage import MISSING_CODES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

FAIL_MARKER = "MIXPEEK_FAIL_BUILD"
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
            marker = None
            if plan.source == "git":
                self._git(queued, step)
            else:
                marker = self._bundle(queued, step)
            smoke_started = time.monotonic()
            self._sleep_until(plan.build_seconds)
            reason = marker if marker is not None else plan.fail_with
            if reason is not None:
                raise BuildFailed(reason)
        except BuildFailed as failure:
            reason = str(failure)
            self.state.finish(plan.deploy_id, "failed", FAILED_PREFIX + reason, error=reason)
            return
        smoke = self._smoke_test(1000 * (time.monotonic() - smoke_started))
        self.state.finish(plan.deploy_id, "complete", COMPLETE_LINE, smoke_test=smoke)

    def _git(self, queued: float, step: float) -> None:
        commit = self.plan.git_commit_sha or "HEAD"
        self._log(f"Source is git (commit {commit}): no bundle to download from S3", "building")
        self._sleep_until(queued + 2 * step)
        self._log("Skipping bundle extraction and validation: the emulator builds no git source")

    def _bundle(self, queued: float, step: float) -> str | None:
        """Walk the bundle stages; returns the MIXPEEK_FAIL_BUILD reason if it has one."""
        self._log("Downloading bundle from S3...", "building")
        data = self._download()
        self._sleep_until(queued + step)
        self._log("Extracting bundle...")
        files, marker = _open_zip(data)
        self._sleep_until(queued + 2 * step)
        self._log("Validating bundle (index.html, size)...")
        self._sleep_until(queued + 3 * step)
        # The published wording, "assets" even for one.
        self._log(f"Uploading {len(files)} assets to S3...")
        return marker

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

    def _smoke_test(self, duration_ms: float) -> SmokeTestResult:
        plan = self.plan
        errors = list(plan.smoke_test_errors or [])
        return SmokeTestResult(
            passed=not errors,
            url=site_url(self.state.api_base_url, app_slug(plan.app_id), plan.environment),
            errors=errors,
            duration_ms=round(duration_ms, 1),
            tested_at=iso(utc_now()),
        )

    def _log(self, line: str, status: DeployStatus | None = None) -> None:
        self.state.log(self.plan.deploy_id, line, status=status)

    def _sleep_until(self, offset: float) -> None:
        remaining = self.started + offset - time.monotonic()
        if remaining > 0 and self.state.stopping.wait(remaining):
            raise Stopped
        if self.state.stopping.is_set():
            raise Stopped


def _open_zip(data: bytes) -> tuple[list[str], str | None]:
    """The bundle's files and its MIXPEEK_FAIL_BUILD reason (None without the marker)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise BuildFailed(f"bundle is corrupt: bad CRC for {broken}")
            files = [info.filename for info in bundle.infolist() if not info.is_dir()]
            if not files:
                raise BuildFailed("bundle holds no files")
            if FAIL_MARKER not in files:
                return files, None
            text = bundle.read(FAIL_MARKER).decode("utf-8", "replace").strip()
            return files, text or f"{FAIL_MARKER} present in bundle"
    except zipfile.BadZipFile as exc:
        raise BuildFailed("bundle is not a valid zip archive") from exc
