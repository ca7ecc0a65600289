"""`--watch`, `--watch-interval`, `--max-error-rate`, `--rollback-on-failure`: the safety
net of `deploy` and `promote` (the work is in mixpeek_cli.deploy.watch)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mixpeek_cli.config.settings import Settings
    from mixpeek_cli.deploy.request import DeployRequest
    from mixpeek_cli.deploy.result import DeployResult
    from mixpeek_cli.deploy.watch import Before, Watched, WatchPlan
    from mixpeek_cli.output.reporter import Reporter
    from mixpeek_cli.service.client import ApiClient, Trace

DEFAULT_WATCH = "5m"
DEFAULT_INTERVAL = 30.0
# 90, 40s, 5m, 1h, 1m30s: what `--watch` accepts, and how `cli.py` tells a bare `--watch`
# (followed by another flag, PATH or nothing) from one given its DURATION.
DURATION = re.compile(r"(?:\d+(?:\.\d+)?[hms]?)|(?:(?:\d+h)?(?:\d+m)?(?:\d+s)?)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}

Watch = Annotated[
    str | None,
    typer.Option(
        "--watch",
        metavar="[DURATION]",
        help=f"Once live, watch the version's error rate for DURATION (30s, 10m, 1h; "
        f"default {DEFAULT_WATCH}) and exit 6 if it is unhealthy.",
    ),
]
WatchInterval = Annotated[
    float | None,
    typer.Option(
        "--watch-interval",
        metavar="SECONDS",
        help=f"Seconds between error-rate polls while watching [default {DEFAULT_INTERVAL:g}].",
    ),
]
MaxErrorRate = Annotated[
    float | None,
    typer.Option(
        "--max-error-rate",
        metavar="PER_MINUTE",
        help="Errors a minute above which the watched version is unhealthy "
        "[default: the larger of 1 and 3x the rate before].",
    ),
]
RollbackOnFailure = Annotated[
    bool,
    typer.Option(
        "--rollback-on-failure",
        help="With --watch: put back the version served before when the new one is unhealthy.",
    ),
]


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (90, 40s, 5m, 1h, 1m30s); a UsageError otherwise."""
    from mixpeek_cli.errors import UsageError

    text = text.strip().lower()
    if not text or DURATION.fullmatch(text) is None:
        raise UsageError(f"invalid --watch duration {text!r}", hint="give e.g. 30s, 5m or 1h")
    seconds = sum(
        float(number) * _UNITS[unit]
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)([hms]?)", text)
    )
    if seconds <= 0:
        raise UsageError("--watch needs a duration above zero", hint="give e.g. 30s, 5m or 1h")
    return seconds


def watch_plan(
    watch: str | None,
    interval: float | None,
    max_error_rate: float | None,
    rollback: bool,
    *,
    follows: bool,
) -> WatchPlan | None:
    """The plan the flags ask for (None: no --watch); exit 2 for flags that cannot be met.

    ``follows``: the command follows the new version until it is final (no --no-wait,
    no --dry-run); a watch needs that."""
    from mixpeek_cli.deploy.watch import WatchPlan
    from mixpeek_cli.errors import UsageError

    if watch is None:
        given = [
            name
            for name, value in (
                ("--watch-interval", interval),
                ("--max-error-rate", max_error_rate),
                ("--rollback-on-failure", rollback or None),
            )
            if value is not None
        ]
        if given:
            raise UsageError(f"{given[0]} works with --watch only", hint="add --watch [DURATION]")
        return None
    if not follows:
        raise UsageError(
            "--watch needs the deploy followed until it is live",
            hint="drop --no-wait (and --dry-run) to watch",
        )
    if interval is not None and interval <= 0:
        raise UsageError("--watch-interval must be above zero", hint="give seconds, e.g. 30")
    if max_error_rate is not None and max_error_rate < 0:
        raise UsageError("--max-error-rate cannot be negative", hint="give errors a minute")
    return WatchPlan(
        seconds=parse_duration(watch),
        interval=interval if interval is not None else DEFAULT_INTERVAL,
        max_error_rate=max_error_rate,
        rollback=rollback,
    )


def deploy_and_watch(
    settings: Settings,
    request: DeployRequest,
    plan: WatchPlan | None,
    reporter: Reporter,
    trace: Trace | None,
) -> DeployResult:
    """The deploy, and with a plan what serves before it and how the new version does."""
    from mixpeek_cli.deploy.pipeline import run_deploy

    before = note(settings, reporter, trace) if plan else None
    result = run_deploy(settings, request, reporter, trace=trace)
    if plan is not None and before is not None and result.exit_code == 0:
        result.watched = watch(
            plan,
            before,
            result.smoke_test,
            settings=settings,
            reporter=reporter,
            trace=trace,
            deploy_id=result.deploy_id,
        )
    return result


def note(
    settings: Settings, reporter: Reporter, trace: Trace | None, environment: str | None = None
) -> Before:
    """What the environment (default: the settings') serves and its error rate, before
    anything is sent."""
    from mixpeek_cli.deploy.watch import BASELINE_MINUTES, WINDOW_MINUTES, Before
    from mixpeek_cli.service.analytics import error_rate
    from mixpeek_cli.service.client import client_for

    environment = environment or settings.environment
    app_id, _ = settings.require_remote()
    with client_for(settings, trace, reporter.warn) as api:
        version = _serving(api, app_id, environment)
        rates = [error_rate(api, app_id, m).per_minute for m in (WINDOW_MINUTES, BASELINE_MINUTES)]
    known = [rate for rate in rates if rate is not None]
    return Before(environment, version, max(known) if known else None)


def _serving(api: ApiClient, app_id: str, environment: str) -> int | None:
    from mixpeek_cli.history.live import find_live

    live = find_live(api, app_id, api.list_versions(app_id), wanted=(environment,))
    return live.version(environment)


def watch(
    plan: WatchPlan,
    before: Before,
    smoke_test: dict[str, Any] | None,
    *,
    settings: Settings,
    reporter: Reporter,
    trace: Trace | None,
    deploy_id: str | None,
) -> Watched:
    """Watch the live version; roll back when it is unhealthy and the plan says so.

    Ctrl-C stops the watch and leaves the version live (exit 130, said so)."""
    from mixpeek_cli.deploy.watch import watch_version
    from mixpeek_cli.errors import Interrupted
    from mixpeek_cli.service.client import client_for

    app_id, _ = settings.require_remote()
    with client_for(settings, trace, reporter.warn) as api:
        try:
            watched = watch_version(
                api,
                app_id,
                before,
                plan,
                version=_serving(api, app_id, before.environment),
                smoke_test=smoke_test,
                settings=settings,
                reporter=reporter,
            )
        except KeyboardInterrupt:
            raise Interrupted(
                "stopped watching; the new version stays live",
                hint=f"watch it with: mixpeek stats -a {app_id}",
                deploy_id=deploy_id,
            ) from None
        if not watched.healthy and plan.rollback:
            _roll_back(api, app_id, watched, settings=settings, reporter=reporter, trace=trace)
    return watched


def _roll_back(
    api: ApiClient,
    app_id: str,
    watched: Watched,
    *,
    settings: Settings,
    reporter: Reporter,
    trace: Trace | None,
) -> None:
    """Restore the version noted before into the environment, followed like a restore."""
    from mixpeek_cli.deploy.app_lookup import AppLookup
    from mixpeek_cli.deploy.restore import RestoreResult, restore_and_follow
    from mixpeek_cli.errors import MixpeekError

    before = watched.before
    if before.version is None or before.version == watched.version:
        what = "nothing" if before.version is None else f"v{before.version}"
        reporter.warn(f"no version to roll back to: {before.environment} served {what} before")
        return
    reporter.warn(f"rolling back {before.environment} to v{before.version}: {watched.reason}")
    result = RestoreResult(
        app_id=app_id,
        version=before.version,
        environment=before.environment,
        previous_version=watched.version,
        kind="rollback",
    )
    watched.rollback = result
    try:
        restore_and_follow(
            api,
            result,
            settings=settings,
            reporter=reporter,
            site=AppLookup(api, app_id, settings.base_url, trace),
            trace=trace,
        )
    except MixpeekError as exc:
        exc.message = f"the rollback to v{before.version} did not finish: {exc.message}"
        raise
