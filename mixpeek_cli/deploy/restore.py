"""Put a version back into an environment (a restore, or a promote of staging's version
to production), then follow it like a deploy.

``POST .../versions/{n}/restore`` and ``POST .../promote`` answer with a ``deploy_id``:
it is followed on the same status and log-stream calls as any deploy, with the same exit
codes and the same care with Ctrl-C (a restore the server made is never lost track of).
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
    from mixpeek_cli.deploy.watch import Watched
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient
    from mixpeek_cli.service.versions import Restored


@dataclass(kw_only=True)
class RestoreResult:
    """What a restore (or promote) did; its JSON shape is a contract (docs/scripting.md)."""

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
    kind: str = "restore"  # "promote", "rollback": how messages name it (not in the JSON)
    watched: Watched | None = None  # promote --watch: how the live version did

    @property
    def exit_code(self) -> ExitCode:
        if not self.waited:
            return ExitCode.OK
        if self.timed_out:
            return ExitCode.TIMEOUT
        if self.status == "failed":
            return ExitCode.DEPLOY_FAILED
        if self.status != "complete":
            return ExitCode.API
        return self.watched.exit_code if self.watched is not None else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
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
        if self.watched is not None:
            data.update(self.watched.to_json())
        return data


def restore_and_follow(
    api: ApiClient,
    result: RestoreResult,
    *,
    settings: Settings,
    reporter: Reporter,
    site: AppLookup,
    trace: Callable[[str], None] | None = None,
    start: Callable[[], Restored] | None = None,
) -> RestoreResult:
    """POST the restore of ``result.version`` to ``result.environment`` (or ``start``
    it otherwise: the promote), then follow it."""
    from mixpeek_cli.deploy.follow import follow_deploy
    from mixpeek_cli.service.models import DeployInfo

    kind = result.kind
    with interrupts.deferred() as held:
        if start is None:
            restored = api.restore_version(
                result.app_id,
                result.version,
                result.environment,
                idempotency_key=str(uuid.uuid4()),
            )
        else:
            restored = start()
    deploy_id = restored.deploy_id
    result.deploy_id = deploy_id
    result.status = "queued"
    if restored.version:  # the promote's answer names the version it made live
        result.version = restored.version
    try:
        reporter.info(f"{kind} of version {result.version} started: deploy {deploy_id}")
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
            f"interrupted; the {kind} (deploy {deploy_id}) goes on server-side",
            hint=f"follow it with: mixpeek deploys status {deploy_id} --wait",
            deploy_id=deploy_id,
        ) from None
    except MixpeekError as exc:
        exc.deploy_id = deploy_id
        exc.hint = f"the {kind} (deploy {deploy_id}) exists; check on it with: " + (
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
