"""The emulated build: a background thread that walks one deploy to its final status.

Timeline, with B = the ``build_seconds`` in force when the deploy was created:

* ``queued`` from creation until ``min(0.2, B/4)`` seconds;
* ``building``: the bundle is fetched from S3 and opened straight away (a missing, non-zip
  or file-less bundle fails the build at that moment), dependencies are "installed" a
  third of the way through, the app is "packaged" two thirds of the way through;
* at B seconds: ``complete`` with a URL, or ``failed`` when the bundle holds a root-level
  ``MIXPEEK_FAIL_BUILD`` file (its stripped text is the error) or the emulator's
  ``fail_builds_with`` setting was set.

Each step appends its log line when it happens, so logs grow while the build runs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mixpeek_cli.emulator.state import EmulatorState

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

FAIL_MARKER = "MIXPEEK_FAIL_BUILD"


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


class BuildFailed(Exception):
    """A build step failed; the message is the deploy's ``error``."""


class Stopped(Exception):
    """The emulator is shutting down; abandon the build."""


def app_url(app_id: str, environment: str) -> str:
    if environment == "production":
        return f"https://{app_id}.apps.mixpeek.local"
    return f"https://{app_id}.{environment}.apps.mixpeek.local"


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
        state.update_deploy(
            plan.deploy_id,
            status="failed",
            error="internal emulator error",
            log="build failed: internal emulator error",
        )


class _Build:
    def __init__(self, state: EmulatorState, s3: S3Client, plan: BuildPlan) -> None:
        self.state = state
        self.s3 = s3
        self.plan = plan
        self.started = time.monotonic()

    def run(self) -> None:
        plan = self.plan
        queued_for = min(0.2, plan.build_seconds / 4)
        self._sleep_until(queued_for)
        self._log(
            f"build started for deploy {plan.deploy_id} ({plan.environment})", status="building"
        )
        try:
            marker = self._fetch()
            work = plan.build_seconds - queued_for
            self._sleep_until(queued_for + work / 3)
            self._log("installing dependencies")
            self._sleep_until(queued_for + 2 * work / 3)
            self._log("packaging app")
            self._sleep_until(plan.build_seconds)
            reason = marker if marker is not None else plan.fail_with
            if reason is not None:
                raise BuildFailed(reason)
        except BuildFailed as failure:
            reason = str(failure)
            self.state.update_deploy(
                plan.deploy_id, status="failed", error=reason, log=f"build failed: {reason}"
            )
            return
        url = app_url(plan.app_id, plan.environment)
        self.state.update_deploy(
            plan.deploy_id, status="complete", url=url, log=f"build complete: {url}"
        )

    def _fetch(self) -> str | None:
        """Check the source; returns the MIXPEEK_FAIL_BUILD reason if the bundle has one."""
        plan = self.plan
        if plan.source == "git":
            self._log(f"source is git: would build commit {plan.git_commit_sha or 'HEAD'}")
            return None
        key = plan.bundle_s3_key or ""
        try:
            fetched = self.s3.get_object(Bucket=self.state.bucket, Key=key)
            data = fetched["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise BuildFailed(f"bundle not found: s3://{self.state.bucket}/{key}") from exc
            raise BuildFailed(f"could not fetch bundle {key}: {code}") from exc
        except BotoCoreError as exc:
            raise BuildFailed(f"could not fetch bundle {key}: {exc}") from exc
        self._log(f"fetching bundle {key} ({len(data)} bytes)")
        # Remembered so a later upload request for the same bundle need not read it again.
        self.state.verified[f"{key} {fetched.get('ETag', '')}"] = hashlib.sha256(data).hexdigest()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as bundle:
                broken = bundle.testzip()
                if broken is not None:
                    raise BuildFailed(f"bundle is corrupt: bad CRC for {broken}")
                files = [info.filename for info in bundle.infolist() if not info.is_dir()]
                if not files:
                    raise BuildFailed("bundle holds no files")
                self._log(f"bundle holds {len(files)} file{'' if len(files) == 1 else 's'}")
                if FAIL_MARKER in files:
                    text = bundle.read(FAIL_MARKER).decode("utf-8", "replace").strip()
                    return text or f"{FAIL_MARKER} present in bundle"
        except zipfile.BadZipFile as exc:
            raise BuildFailed("bundle is not a valid zip archive") from exc
        return None

    def _log(self, line: str, status: str | None = None) -> None:
        if status == "building":
            self.state.update_deploy(self.plan.deploy_id, status="building", log=line)
        else:
            self.state.update_deploy(self.plan.deploy_id, log=line)

    def _sleep_until(self, offset: float) -> None:
        remaining = self.started + offset - time.monotonic()
        if remaining > 0 and self.state.stopping.wait(remaining):
            raise Stopped
        if self.state.stopping.is_set():
            raise Stopped
