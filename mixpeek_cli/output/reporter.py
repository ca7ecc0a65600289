"""The narrow interface through which the deploy stages report progress.

Stages (bundle, upload, deploy orchestration) never print. They call a
:class:`Reporter`; the CLI picks an implementation (rich on a terminal, plain
lines otherwise, nothing at all with ``--quiet``). Tests use :class:`NullReporter`
or their own recorder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, Protocol

Unit = Literal["files", "bytes"]


class ProgressTask(Protocol):
    def advance(self, amount: int) -> None: ...


class Reporter(Protocol):
    def info(self, message: str) -> None:
        """A step worth telling a person about (stderr)."""

    def warn(self, message: str) -> None:
        """Something the user should know but that does not stop the deploy."""

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        """Start a progress bar; pair it with ``finish_progress`` (``track`` does both)."""
        ...

    def finish_progress(self) -> None:
        """End the current progress bar, if any."""

    def status(self, status: str, detail: str | None = None) -> None:
        """The deploy's status changed (or, while waiting, is still ``status``)."""

    def log_lines(self, lines: list[str]) -> None:
        """New build log lines arrived."""

    def live(self, line: str | None) -> None:
        """A line that replaces the last one on a terminal (a whole line elsewhere), such
        as a watch's figures; None ends it."""

    def close(self) -> None:
        """Stop anything still live on the terminal (progress, status line)."""


class _NullTask:
    def advance(self, amount: int) -> None:
        pass


class NullReporter:
    """Reports nothing: for ``--quiet``, library use and tests."""

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        return _NullTask()

    def finish_progress(self) -> None:
        pass

    def status(self, status: str, detail: str | None = None) -> None:
        pass

    def log_lines(self, lines: list[str]) -> None:
        pass

    def live(self, line: str | None) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def track(reporter: Reporter, description: str, total: int, unit: Unit) -> Iterator[ProgressTask]:
    """Run a block under a progress bar that is always closed, even on error."""
    task = reporter.progress(description, total, unit)
    try:
        yield task
    finally:
        reporter.finish_progress()
