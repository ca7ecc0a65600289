"""The safety net: watch a version once it is live, and put the one before back if it breaks.

Before the deploy (or promote) is sent, the command notes what the environment serves (the
version to go back to) and the baseline: the larger of the error rates of the last minute
and of the last :data:`BASELINE_MINUTES` (the last minute's, because each poll's window is
a minute too: right after an incident the old errors are in both). Once the new version
is ``complete``, :func:`watch_version` checks its smoke test, then asks ``GET
.../error-rate`` for the last minute every ``interval`` seconds until the watch is over.
Unhealthy means: the smoke test did not pass, or the rate stayed above the limit for
:data:`POLLS_IN_A_ROW` polls in a row. With ``rollback``, the command then replaces an
unhealthy version by the noted one (a restore, followed like any restore:
``commands/watching.py``). docs/reliability.md says the same for users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mixpeek_cli.errors import ExitCode, WatchTimeout

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient

BASELINE_MINUTES = 5
WINDOW_MINUTES = 1  # each poll asks for the last minute: what the new version does now
POLLS_IN_A_ROW = 2  # one spike is not a broken version
FLOOR_PER_MINUTE = 1.0  # the default limit is never below one error a minute
BASELINE_FACTOR = 3.0


@dataclass(frozen=True)
class WatchPlan:
    seconds: float
    interval: float
    max_error_rate: float | None  # None: max(FLOOR_PER_MINUTE, BASELINE_FACTOR x baseline)
    rollback: bool


@dataclass(frozen=True)
class Before:
    """What the environment served, and how often it failed, before the new version."""

    environment: str
    version: int | None  # None: it served nothing, or the service does not say
    baseline: float | None  # errors a minute over BASELINE_MINUTES; None: not said


class Rollback(Protocol):
    """The restore that put the noted version back (a ``deploy.restore.RestoreResult``)."""

    version: int
    status: str | None
    deploy_id: str | None

    @property
    def exit_code(self) -> ExitCode: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(kw_only=True)
class Watched:
    """How the watch ended; its JSON is part of the deploy's and promote's documents."""

    plan: WatchPlan
    before: Before
    limit: float
    version: int | None = None  # the version watched (what the environment serves now)
    healthy: bool = True
    reason: str | None = None
    error_rate: float | None = None  # the last rate read
    polls: list[float | None] = field(default_factory=list)
    seconds: float = 0.0
    rollback: Rollback | None = None

    @property
    def rolled_back(self) -> bool:
        return self.rollback is not None and self.rollback.exit_code == ExitCode.OK

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.healthy else ExitCode.UNHEALTHY

    def to_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "rolled_back": self.rolled_back,
            "error_rate": self.error_rate,
            "baseline": self.before.baseline,
            "watch": {
                "version": self.version,
                "previous_version": self.before.version,
                "environment": self.before.environment,
                "seconds": round(self.seconds, 1),
                "planned_seconds": self.plan.seconds,
                "interval": self.plan.interval,
                "max_error_rate": self.limit,
                "polls": self.polls,
                "reason": self.reason,
                "rollback_on_failure": self.plan.rollback,
                "rollback": None if self.rollback is None else self.rollback.to_json(),
            },
        }


def limit_for(plan: WatchPlan, baseline: float | None) -> float:
    if plan.max_error_rate is not None:
        return plan.max_error_rate
    return max(FLOOR_PER_MINUTE, BASELINE_FACTOR * (baseline or 0.0))


def watch_version(
    api: ApiClient,
    app_id: str,
    before: Before,
    plan: WatchPlan,
    *,
    version: int | None,
    smoke_test: dict[str, Any] | None,
    settings: Settings,
    reporter: Reporter,
) -> Watched:
    """Watch ``version``, which ``before.environment`` serves now, for ``plan.seconds``
    (or until it is found unhealthy). A Ctrl-C stops the watch (KeyboardInterrupt goes up)."""
    from mixpeek_cli.service.analytics import error_rate

    limit = limit_for(plan, before.baseline)
    watched = Watched(plan=plan, before=before, limit=limit)
    watched.version = version
    name = f"v{watched.version}" if watched.version else "the new version"
    if smoke_test is not None and not smoke_test.get("passed", True):
        errors = "; ".join(str(e) for e in smoke_test.get("errors") or []) or "no reason given"
        _unhealthy(watched, f"its smoke test did not pass: {errors}")
    start = time.monotonic()
    deadline = settings.deadline
    above = 0
    while watched.healthy:
        left = plan.seconds - (time.monotonic() - start)
        if left <= 0:
            break
        wait = min(plan.interval, left)
        if deadline is not None and not deadline.allows(wait):
            watched.seconds = time.monotonic() - start
            raise WatchTimeout(
                f"--timeout ({deadline.seconds:g}s) ran out while watching {name}, "
                f"{_duration(left)} before the watch's end; {name} stays live",
                hint="give --timeout room for the deploy and the watch together",
            )
        time.sleep(wait)
        rate = error_rate(api, app_id, WINDOW_MINUTES).per_minute
        watched.polls.append(rate)
        watched.error_rate = rate
        left = max(0.0, plan.seconds - (time.monotonic() - start))
        reporter.live(
            f"watching {name}: {_rate(rate)} errors/min, before {_rate(before.baseline)}, "
            f"limit {limit:g}, {_duration(left)} left"
        )
        above = above + 1 if rate is not None and rate > limit else 0
        if above >= POLLS_IN_A_ROW:
            _unhealthy(
                watched,
                f"{_rate(rate)} errors/min for {above} polls in a row, above the limit of "
                f"{limit:g} (before: {_rate(before.baseline)})",
            )
    watched.seconds = time.monotonic() - start
    reporter.live(None)
    if watched.healthy:
        reporter.info(
            f"{name} stayed healthy for {_duration(watched.seconds)} "
            f"({_rate(watched.error_rate)} errors/min, before {_rate(before.baseline)})"
        )
    return watched


def _unhealthy(watched: Watched, reason: str) -> None:
    watched.healthy = False
    watched.reason = reason


def tell(watched: Watched, say: Callable[[str], None]) -> None:
    """The watch's verdict for people (stderr)."""
    if watched.healthy:
        return
    name = f"v{watched.version}" if watched.version else "the new version"
    say(f"error: {name} is unhealthy: {watched.reason}")
    rollback = watched.rollback
    if rollback is None:
        if watched.plan.rollback:
            say(f"nothing was rolled back: {name} stays live")
        else:
            back = watched.before.version
            say(
                f"{name} stays live (no --rollback-on-failure)"
                + (f"; put v{back} back with: mixpeek rollback {back}" if back else "")
            )
    elif watched.rolled_back:
        say(f"rolled back: {watched.before.environment} serves v{rollback.version} again")
    else:
        say(
            f"the rollback to v{rollback.version} ended {rollback.status}: check it with "
            f"mixpeek deploys status {rollback.deploy_id} --wait"
        )


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:.2g}" if value < 10 else f"{value:.0f}"


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
