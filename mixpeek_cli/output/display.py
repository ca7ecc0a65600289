"""Reporters that show progress on stderr: rich on a terminal, plain lines elsewhere.

stdout is reserved for the command's result; nothing here writes to it. What a reporter is
told often comes from outside (build log lines, statuses, file names in warnings), so
both reporters pass every line through :func:`~mixpeek_cli.printable.printable`: no
control sequence in it reaches the terminal.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, cast

from mixpeek_cli.output.formats import human_bytes
from mixpeek_cli.output.reporter import NullReporter, ProgressTask, Reporter, Unit
from mixpeek_cli.printable import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.status import Status

    from mixpeek_cli.output.console import Console as AnyConsole

STATUS_TEXT = {
    "queued": "queued, waiting for a builder",
    "building": "building",
    "complete": "complete",
    "failed": "failed",
}


class PlainReporter:
    """Whole lines, no control codes: for CI logs, hooks and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._task: _PlainTask | None = None

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(printable(line) + "\n")
        stream.flush()

    def info(self, message: str) -> None:
        self._write(message)

    def warn(self, message: str) -> None:
        self._write(f"warning: {message}")

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        amount = f"{total} files" if unit == "files" else human_bytes(total)
        self._write(f"{description} {amount}...")
        self._task = _PlainTask()
        return self._task

    def finish_progress(self) -> None:
        self._task = None

    def status(self, status: str, detail: str | None = None) -> None:
        text = STATUS_TEXT.get(status, status)
        self._write(f"status: {text}" + (f" ({detail})" if detail else ""))

    def log_lines(self, lines: list[str]) -> None:
        for line in lines:
            self._write(f"  | {line}")

    def live(self, line: str | None) -> None:
        if line is not None:
            self._write(line)

    def close(self) -> None:
        pass


class _PlainTask:
    def advance(self, amount: int) -> None:
        pass


class RichReporter:
    """Progress bars, rates and a live status line, on a stderr console."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Progress | None = None
        self._status: Status | None = None

    def info(self, message: str) -> None:
        self._console.print(printable(message), markup=False, highlight=False)

    def warn(self, message: str) -> None:
        self._console.print(f"[yellow]warning:[/] {_escape(printable(message))}", highlight=False)

    def progress(self, description: str, total: int, unit: Unit) -> ProgressTask:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self._stop_status()
        columns = [TextColumn("{task.description}"), BarColumn()]
        if unit == "bytes":
            columns += [DownloadColumn(binary_units=True), TransferSpeedColumn()]
        else:
            columns += [MofNCompleteColumn(), TextColumn("files")]
        progress = Progress(*columns, TimeElapsedColumn(), console=self._console, transient=False)
        progress.start()
        self._progress = progress
        task_id = progress.add_task(_escape(printable(description)), total=total)
        return _RichTask(progress, task_id)

    def finish_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def status(self, status: str, detail: str | None = None) -> None:
        # An unknown status is shown as the server sent it, so it is markup-escaped too.
        text = _escape(printable(STATUS_TEXT.get(status, status)))
        self._console.print(f"status: [bold]{text}[/]", highlight=False)
        if status in ("complete", "failed"):
            self._stop_status()
            return
        if self._status is None:
            self._status = self._console.status(f"deploy {text}...")
            self._status.start()
        else:
            self._status.update(f"deploy {text}...")

    def log_lines(self, lines: list[str]) -> None:
        for line in lines:
            self._console.print(f"[dim]  | {_escape(printable(line))}[/]", highlight=False)

    def live(self, line: str | None) -> None:
        if line is None:
            self._stop_status()
        elif self._status is None:
            self._status = self._console.status(_escape(printable(line)))
            self._status.start()
        else:
            self._status.update(_escape(printable(line)))

    def close(self) -> None:
        self.finish_progress()
        self._stop_status()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class _RichTask:
    def __init__(self, progress: Progress, task_id: object) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task_id, amount)  # type: ignore[arg-type]


def _escape(text: str) -> str:
    from mixpeek_cli.output.console import escape

    return escape(text)


def make_reporter(
    *, quiet: bool, console: AnyConsole | None, stream: IO[str] | None = None
) -> Reporter:
    """Rich when stderr is a terminal, plain lines otherwise, nothing with ``--quiet``."""
    if quiet:
        return NullReporter()
    if console is not None and console.is_terminal and not console.is_dumb_terminal:
        # Only rich's console says it is a terminal (PlainConsole never does).
        return RichReporter(cast("Console", console))
    return PlainReporter(stream)
