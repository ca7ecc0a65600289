"""Create the deploy, then follow it: the steps every deploy path ends with."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mixpeek_cli import interrupts
from mixpeek_cli.deploy.result import DeployResult, absorb
from mixpeek_cli.errors import Interrupted, MixpeekError

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.deploy.request import DeployRequest
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient


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
    # A Ctrl-C while the POST is in flight waits for its answer: the deploy may
    # already exist server-side, and the user must learn its id.
    with interrupts.deferred() as held:
        deploy = api.create_deploy(app_id, body, idempotency_key=str(uuid.uuid4()))
    # From here a Ctrl-C must still name the deploy, even while saying it exists.
    try:
        absorb(result, deploy)
        reporter.info(f"deploy {deploy.deploy_id} created ({deploy.status})")
        if held.interrupted:
            raise KeyboardInterrupt
        if not request.wait:
            result.url = site.url(result.environment, reporter.warn)
            return result
        # Only now: --no-wait never needs the log stream's modules (~4 ms to import).
        from mixpeek_cli.deploy.follow import follow_deploy

        followed = follow_deploy(
            api,
            deploy,
            reporter=reporter,
            poll_interval=settings.poll_interval,
            deadline=settings.deadline,
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
    absorb(result, followed.deploy)
    result.timed_out = followed.timed_out
    result.log_tail = followed.log_tail
    result.url = site.url(result.environment, reporter.warn)
    return result
