"""What each app's analytics are made of, behind their own lock: pageviews, errors and Web
Vitals samples, each with the real time it happened.

Pageviews come from the sites (``site_server`` calls :meth:`HealthStore.served` for every
answer); errors from :meth:`HealthStore.add_error` (the ``/_emulator`` control, and any
part of the emulator that sees an app fail); vitals from the control. Every one of them
is an event (``total_events``). ``health_api`` computes the answers from them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mixpeek_cli.emulator.records import utc_now
from mixpeek_cli.emulator.smoke import SMOKE_USER_AGENT

Kind = Literal["pageview", "error", "vital"]


@dataclass(frozen=True)
class Sample:
    app_id: str
    kind: Kind
    at: datetime
    path: str | None = None  # a pageview's path, an error's URL
    name: str | None = None  # an error's type, a vital's metric
    message: str | None = None  # an error's message
    value: float | None = None  # a vital's value


class HealthStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def _add(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)

    def served(
        self,
        app_id: str | None,
        method: str,
        path: str,
        status: int,
        content_type: str,
        user_agent: str | None,
    ) -> None:
        """A site answered a request: a page (a GET answered 200 with HTML) is a pageview,
        unless the service's own smoke test asked for it."""
        if app_id is None or method != "GET" or status != 200:
            return
        if not content_type.startswith("text/html") or user_agent == SMOKE_USER_AGENT:
            return
        self._add(Sample(app_id, "pageview", utc_now(), path=path))

    def add_error(
        self,
        app_id: str,
        error_type: str,
        message: str,
        url: str | None = None,
        *,
        at: datetime | None = None,
    ) -> None:
        """The app met an error (a page's uncaught exception, a server function's 500):
        it counts in ``analytics`` and ``error-rate``."""
        self._add(
            Sample(app_id, "error", at or utc_now(), path=url, name=error_type, message=message)
        )

    def add_vital(
        self, app_id: str, metric: str, value: float, *, at: datetime | None = None
    ) -> None:
        self._add(Sample(app_id, "vital", at or utc_now(), name=metric, value=value))

    def since(self, app_id: str, moment: datetime) -> list[Sample]:
        """The app's samples from ``moment`` on, oldest first."""
        with self._lock:
            found = [s for s in self._samples if s.app_id == app_id and s.at >= moment]
        return sorted(found, key=lambda sample: sample.at)

    def forget_app(self, app_id: str) -> None:
        with self._lock:
            self._samples = [s for s in self._samples if s.app_id != app_id]
