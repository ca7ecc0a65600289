"""Follow a deploy until it is final: cheap polling, log streaming, a hard deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mixpeek_cli.api import ApiClient, DeployInfo
from mixpeek_cli.errors import ApiError
from mixpeek_cli.reporter import Reporter

MAX_POLL_INTERVAL = 5.0
GROWTH = 1.5
LOG_TAIL = 20
NOT_FOUND_RETRIES = 4


def poll_intervals(first: float) -> Iterator[float]:
    """``first``, growing x1.5 up to 5 s, but never below ``first``."""
    ceiling = max(first, MAX_POLL_INTERVAL)
    interval = first
    while True:
        yield interval
        interval = min(interval * GROWTH, ceiling)


@dataclass
class FollowResult:
    deploy: DeployInfo
    timed_out: bool
    log_tail: list[str] = field(default_factory=list)


def follow_deploy(
    api: ApiClient,
    deploy: DeployInfo,
    *,
    reporter: Reporter,
    poll_interval: float,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FollowResult:
    """Poll until ``complete``/``failed`` or until ``timeout`` seconds have passed."""
    deadline = clock() + timeout
    logs = _LogFollower(api, deploy.app_id, deploy.deploy_id, reporter)
    if deploy.final:
        logs.fetch(deadline)
    reporter.status(deploy.status)
    current = deploy
    not_found = 0
    for interval in poll_intervals(poll_interval):
        if current.final:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            logs.fetch(deadline)
            return FollowResult(current, timed_out=True, log_tail=logs.tail)
        sleep(min(interval, remaining))
        try:
            latest = api.get_deploy(current.app_id, current.deploy_id, deadline=deadline)
        except ApiError as exc:
            # A store that is only eventually consistent may not know a deploy it just made.
            if exc.status_code != 404 or not_found >= NOT_FOUND_RETRIES:
                raise
            not_found += 1
            continue
        not_found = 0
        if latest.final:
            # Show the build's last lines before the verdict they explain.
            logs.fetch(deadline)
        if latest.status != current.status:
            reporter.status(latest.status)
        if not latest.final:
            logs.fetch(deadline)
        current = latest
    return FollowResult(current, timed_out=False, log_tail=logs.tail)


class _LogFollower:
    def __init__(self, api: ApiClient, app_id: str, deploy_id: str, reporter: Reporter) -> None:
        self._api = api
        self._app_id = app_id
        self._deploy_id = deploy_id
        self._reporter = reporter
        self._offset = 0
        self._enabled = True
        self.tail: list[str] = []

    def fetch(self, deadline: float) -> None:
        if not self._enabled:
            return
        try:
            chunk = self._api.get_logs(
                self._app_id, self._deploy_id, self._offset, deadline=deadline
            )
        except ApiError:
            # Logs are a courtesy; a failing log endpoint must not fail the deploy.
            return
        if chunk is None:
            self._enabled = False
            return
        if chunk.lines:
            self._reporter.log_lines(chunk.lines)
            self.tail = (self.tail + chunk.lines)[-LOG_TAIL:]
        self._offset = max(self._offset, chunk.next_offset)
