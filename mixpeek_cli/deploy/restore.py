"""Put a version back into an environment, then follow the restore like a deploy.

``POST .../versions/{n}/restore`` answers with a ``deploy_id``: the restore is followed on
the same status and log-stream calls as any deploy, with the same exit codes and the same
care with Ctrl-C (a restore the server made is never lost track of).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixpeek_cli import interrupts
from mixpeek_cli.errors import ExitCode, Interrupted, MixpeekError

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient


@dataclass(kw_only=True)
class RestoreResult:
    """What a restore did; its JSON shape is a contract (docs/scripting.md)."""

    app_id: str
    version: int
    environment: str
    previous_version: int | None  # what served the environment before, when known
    deploy_id: str | None = None
    status: str | None = None
    error: str | None = None
    url: str | None = None
    waited: bool = True
    timed_out: bool = False
    smoke_test: dict[str, Any] | None = None
    log_tail: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        if not self.waited:
            return ExitCode.OK
        if self.timed_out:
            return ExitCode.TIMEOUT
        if self.status == "failed":
            return ExitCode.DEPLOY_FAILED
        return ExitCode.OK if self.status == "complete" else ExitCode.API

    def to_json(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "version": self.version,
            "environment": self.environment,
            "previous_version": self.previous_version,
            "deploy_id": self.deploy_id,
            "status": self.status,
            "error": self.error,
            "url": self.url,
            "timed_out": self.timed_out,
            "smoke_test": self.smoke_test,
            "log_tail": self.log_tail,
        }


def restore_and_follow(
    api: ApiClient,
    result: RestoreResult,
    *,
    settings: Settings,
    reporter: Reporter,
    site: AppLookup,
    trace: Callable[[str], None] | None = None,
) -> RestoreResult:
    """POST the restore of ``result.version`` to ``result.environment``, then follow it."""
    from mixpeek_cli.deploy.follow import follow_deploy
    from mixpeek_cli.service.models import DeployInfo

    with interrupts.deferred() as held:
        restored = api.restore_version(
            result.app_id, result.version, result.environment, idempotency_key=str(uuid.uuid4())
        )
    deploy_id = restored.deploy_id
    result.deploy_id = deploy_id
    result.status = "queued"
    try:
        reporter.info(f"restore of version {result.version} started: deploy {deploy_id}")
        if held.interrupted:
            raise KeyboardInterrupt
        if not result.waited:
            result.url = site.url(result.environment, reporter.warn)
            return result
        started = DeployInfo(
            app_id=result.app_id,
            deploy_id=deploy_id,
            status="queued",
            environment=result.environment,
            message=None,
        )
        followed = follow_deploy(
            api,
            started,
            reporter=reporter,
            poll_interval=settings.poll_interval,
            deadline=settings.deadline,
            trace=trace,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; the restore (deploy {deploy_id}) goes on server-side",
            hint=f"follow it with: mixpeek deploys status {deploy_id} --wait",
            deploy_id=deploy_id,
        ) from None
    except MixpeekError as exc:
        exc.deploy_id = deploy_id
        exc.hint = f"the restore (deploy {deploy_id}) exists; check on it with: " + (
            f"mixpeek deploys status {deploy_id} --wait"
        )
        raise
    final = followed.deploy
    result.status = final.status
    result.error = final.error
    result.timed_out = followed.timed_out
    result.log_tail = followed.log_tail
    result.smoke_test = final.smoke_test.to_json() if final.smoke_test else None
    result.url = site.url(result.environment, reporter.warn)
    return result
