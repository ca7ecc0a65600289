"""Read a deploy's build log stream on a background thread, across reconnects.

The published stream replays every earlier line on each connection (no event ids, no
offsets), so a reader that reconnects counts the lines it already delivered and skips
that many. Its events go to a queue that the follower drains on the main thread, where
Ctrl-C lands and where the terminal is written.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mixpeek_cli.errors import AuthError, MixpeekError
from mixpeek_cli.service.retry import RetryPolicy

if TYPE_CHECKING:
    from mixpeek_cli.service.client import ApiClient

# Reconnects back off from 0.5 s up to 5 s (full jitter), starting again after progress.
RECONNECT = RetryPolicy(base_delay=0.5, max_delay=5.0)


@dataclass(frozen=True)
class Line:
    text: str


@dataclass(frozen=True)
class Done:
    """``event: done``: the deploy is final and every line was sent."""


@dataclass(frozen=True)
class Unavailable:
    """No stream from this server (404/405, no event stream, a refused key)."""

    reason: str


@dataclass(frozen=True)
class Dropped:
    """The connection ended early; the reader opens it again after ``wait`` seconds."""

    reason: str
    wait: float


Event = Line | Done | Unavailable | Dropped


class StreamReader:
    """The log of one deploy, each line delivered once and in order, on ``events``."""

    def __init__(
        self, api: ApiClient, app_id: str, deploy_id: str, *, retry: RetryPolicy = RECONNECT
    ) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self._api = api
        self._app_id = app_id
        self._deploy_id = deploy_id
        self._retry = retry
        self._stop = threading.Event()
        # Daemon: a stalled connection must never keep the process from exiting.
        self._thread = threading.Thread(target=self._run, name="mixpeek-log-stream", daemon=True)

    def start(self) -> StreamReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop delivering; a connection in progress is abandoned, not waited for."""
        self._stop.set()

    def _run(self) -> None:
        import httpx

        from mixpeek_cli.service.client import StreamDone, StreamUnavailable

        delivered = 0
        failures = 0
        while not self._stop.is_set():
            seen = 0
            try:
                for item in self._api.stream_logs(self._app_id, self._deploy_id):
                    if self._stop.is_set():
                        return
                    if isinstance(item, StreamDone):
                        self.events.put(Done())
                        return
                    seen += 1
                    if seen <= delivered:
                        continue  # replayed: shown on an earlier connection
                    delivered += 1
                    failures = 0
                    self.events.put(Line(item.line))
                reason = "the server closed it before the deploy was final"
            except StreamUnavailable as exc:
                self.events.put(Unavailable(str(exc)))
                return
            except AuthError as exc:
                self.events.put(Unavailable(exc.one_line()))
                return
            except MixpeekError as exc:
                reason = exc.one_line()
            except (httpx.HTTPError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"  # a thread must not die on it
            failures += 1
            wait = self._retry.backoff(failures)
            self.events.put(Dropped(reason, wait))
            if self._stop.wait(wait):
                return
