"""Follow a deploy until it is final: the live build log, status polls beside it, a deadline.

The log stream (:mod:`mixpeek_cli.service.log_stream`) shows every line once and in order, and
its ``event: done`` says the deploy is final: the status is fetched once, at once. Status
polls run beside it on their back-off schedule, so a final status is noticed within one
poll interval even when the stream stalls, drops or never says ``done``; the stream is
then given :data:`STREAM_GRACE` seconds to deliver the log's last lines.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mixpeek_cli.errors import ApiError, DeadlineReached
from mixpeek_cli.output.reporter import Reporter
from mixpeek_cli.service.log_stream import Done, Dropped, Event, Line, StreamReader, Unavailable

if TYPE_CHECKING:
    from mixpeek_cli.deadline import Deadline
    from mixpeek_cli.service.client import ApiClient, Trace
    from mixpeek_cli.service.models import DeployInfo

MAX_POLL_INTERVAL = 5.0
GROWTH = 1.5
LOG_TAIL = 20
NOT_FOUND_RETRIES = 4
# After the polls saw the final status, how long the stream may take to send the rest.
STREAM_GRACE = 3.0
# A final deploy's log is a replay of lines the server has: a replay silent this long
# (stalled, or cut and silent on reconnect) is given up, said to be incomplete.
REPLAY_GRACE = 5.0


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
    deadline: Deadline,
    trace: Trace | None = None,
) -> FollowResult:
    """Show the build log and status until ``complete``/``failed`` or the ``deadline``."""
    follower = _Follower(api, deploy, reporter, poll_interval, deadline, trace)
    try:
        return follower.run()
    finally:
        follower.reader.stop()


class _Follower:
    def __init__(
        self,
        api: ApiClient,
        deploy: DeployInfo,
        reporter: Reporter,
        poll_interval: float,
        deadline: Deadline,
        trace: Trace | None,
    ) -> None:
        self.api = api
        self.current = deploy
        self.reporter = reporter
        self.deadline = deadline.at
        self.trace = trace
        self.clock = deadline.clock
        self.intervals = poll_intervals(poll_interval)
        self.reader = StreamReader(api, deploy.app_id, deploy.deploy_id).start()
        self.streaming = True
        self.tail: deque[str] = deque(maxlen=LOG_TAIL)
        self.not_found = 0

    def run(self) -> FollowResult:
        if not self.current.final:
            self.reporter.status(self.current.status)
        next_poll = self.clock() + next(self.intervals)
        # When the status is known to be final: the stream then only has its grace.
        final_at = self.clock() if self.current.final else None
        while True:
            now = self.clock()
            if final_at is not None:
                if not self.streaming or now >= final_at + STREAM_GRACE:
                    break
                wake = final_at + STREAM_GRACE
            elif now >= self.deadline:
                self._drain()
                return FollowResult(self.current, timed_out=True, log_tail=list(self.tail))
            else:
                wake = min(next_poll, self.deadline)
            event = self._next_event(max(0.0, wake - now))
            if event is not None:
                if self._handle(event) and final_at is None:
                    next_poll = self.clock()  # `done`: the status is final now; ask once
                continue
            if final_at is None and self.clock() >= next_poll:
                try:
                    polled = self._poll()
                except DeadlineReached:
                    # A poll that stalls or keeps failing until --timeout: the deploy is
                    # not known to be final when the time ran out (exit 3, not 5).
                    self._drain()
                    return FollowResult(self.current, timed_out=True, log_tail=list(self.tail))
                if polled and self.current.final:
                    final_at = self.clock()
                next_poll = self.clock() + next(self.intervals)
        self.reporter.status(self.current.status)
        return FollowResult(self.current, timed_out=False, log_tail=list(self.tail))

    def _next_event(self, wait: float) -> Event | None:
        try:
            if wait > 0:
                return self.reader.events.get(timeout=wait)
            return self.reader.events.get_nowait()
        except queue.Empty:
            return None

    def _handle(self, event: Event) -> bool:
        """Show ``event``; True when it is the stream's ``done``."""
        if isinstance(event, Line):
            self.reporter.log_lines([event.text])
            self.tail.append(event.text)
            return False
        if isinstance(event, Done):
            self.streaming = False
            return True
        if isinstance(event, Unavailable):
            self.streaming = False
            self._note(f"no build log stream ({event.reason}): following by status polls alone")
        elif isinstance(event, Dropped):
            self._note(f"log stream dropped ({event.reason}); reconnecting in {event.wait:.1f}s")
        return False

    def _drain(self) -> None:
        while (event := self._next_event(0)) is not None:
            self._handle(event)

    def _poll(self) -> bool:
        """Fetch the status; False when a fresh deploy is not known yet (404) and skipped."""
        try:
            latest = self.api.get_deploy(self.current.app_id, self.current.deploy_id)
        except ApiError as exc:
            # A store that is only eventually consistent may not know a deploy it just made.
            if exc.status_code != 404 or self.not_found >= NOT_FOUND_RETRIES:
                raise
            self.not_found += 1
            return False
        self.not_found = 0
        # A final status is told after the log lines that explain it (see run()).
        if latest.status != self.current.status and not latest.final:
            self.reporter.status(latest.status)
        self.current = latest
        return True

    def _note(self, line: str) -> None:
        if self.trace is not None:
            self.trace(line)


@dataclass
class LogRead:
    lines: list[str]
    available: bool  # False: the server offers no log stream
    complete: bool  # True: the stream said `done` (the whole log of a final deploy)


def read_log(
    api: ApiClient,
    deploy: DeployInfo,
    *,
    deadline: Deadline,
    idle: float = 1.0,
    replay_grace: float = REPLAY_GRACE,
) -> LogRead:
    """The build log so far, without following it.

    A final deploy's stream replays its whole log, then says ``done``; one that goes
    ``replay_grace`` seconds without a new line (stalled, or closed without ``done``) is
    given up, the log marked incomplete. A running deploy's stream would go on live, so
    it is read until ``idle`` seconds pass without a line.
    """
    reader = StreamReader(api, deploy.app_id, deploy.deploy_id).start()
    lines: list[str] = []
    quiet = replay_grace if deploy.final else idle
    # Only a new line is progress: a stream cut and opened again (a Dropped event, its
    # replay skipped) is not.
    silent_until = deadline.clock() + quiet
    try:
        while (left := min(deadline.left(), silent_until - deadline.clock())) > 0:
            try:
                event = reader.events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, Line):
                silent_until = deadline.clock() + quiet
                lines.append(event.text)
            elif isinstance(event, Done):
                return LogRead(lines, available=True, complete=True)
            elif isinstance(event, Unavailable):
                return LogRead(lines, available=False, complete=False)
        return LogRead(lines, available=True, complete=False)
    finally:
        reader.stop()
