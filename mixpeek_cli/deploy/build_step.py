"""Run the project's build command before bundling: ``npm run build`` and the like.

The command runs through the shell in PATH, with the user's environment, as it would in
their terminal. Its output (stdout and stderr both) goes to our stderr as it comes, so
stdout keeps only the deploy's result; with ``--quiet`` it is held back and only the last
lines are shown if the build fails. A failed build stops the deploy before anything is
sent (exit 2); Ctrl-C stops the build and exits 130.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixpeek_cli import interrupts
from mixpeek_cli.errors import Interrupted, UsageError
from mixpeek_cli.output.reporter import Reporter

if TYPE_CHECKING:
    from mixpeek_cli.deadline import Deadline

TAIL_LINES = 20
# How long a build may take to stop after Ctrl-C before it is killed, and when it is
# passed the Ctrl-C again meanwhile.
STOP_SECONDS = 5.0
AGAIN_SECONDS = 0.5


@dataclass(frozen=True)
class BuildRun:
    command: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {"command": self.command, "seconds": round(self.seconds, 3)}


def run_build(
    command: str,
    cwd: Path,
    reporter: Reporter,
    *,
    quiet: bool = False,
    deadline: Deadline | None = None,
) -> BuildRun:
    """Run ``command`` in ``cwd``; return once it succeeded, or raise. A build still
    running at ``deadline`` (--timeout) is stopped as a Ctrl-C would stop it."""
    reporter.info(f"building: {command}")
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    build = _Build()
    overdue = threading.Event()
    with interrupts.passed_to_child(build.interrupt, build.kill) as ctrl_c:
        try:
            build.proc = proc = subprocess.Popen(
                command,
                shell=True,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                # Straight to our stderr: the build sees a terminal where we have one.
                stdout=subprocess.PIPE if quiet else sys.stderr.fileno(),
                stderr=subprocess.STDOUT,
                **_STOPPER.popen_args(),
            )
        except OSError as exc:
            raise UsageError(
                f"cannot run the build command {command!r}: {exc.strerror or exc}",
                hint="check the build command (--build-command / build_command in mixpeek.toml)",
            ) from None
        # At the deadline the build is stopped from a timer thread; the reads and the wait
        # below then end as they would after a Ctrl-C.
        watchdog = _watchdog(deadline, proc, overdue)
        try:
            ctrl_c.started = True  # inside the try: a Ctrl-C from here on is handled below
            if ctrl_c.interrupted:  # while the build was being started: passed on now
                build.interrupt()
                raise KeyboardInterrupt
            if proc.stdout is not None:
                for raw in proc.stdout:
                    tail.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
            code = proc.wait()
            if ctrl_c.interrupted:  # it came while Python was importing: not raised
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            _stop(proc)
            raise Interrupted(
                f"interrupted during the build ({command}); nothing was sent",
                hint="run the deploy again",
            ) from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
    if overdue.is_set():
        assert deadline is not None  # only a deadline sets it
        raise UsageError(
            f"the build command {command!r} was still running when --timeout "
            f"({deadline.seconds:g}s) ran out: stopped; nothing was sent",
            hint="give the deploy more time (--timeout), or build first and deploy with --no-build",
        )
    if code != 0:
        for line in tail:
            reporter.info(f"  | {line}")
        raise UsageError(
            f"the build command {command!r} failed with exit status {_status(code)}; "
            "nothing was sent",
            hint="fix the build (its output is above), or deploy without it: --no-build",
        )
    return BuildRun(command, time.monotonic() - started)


def _watchdog(
    deadline: Deadline | None, proc: subprocess.Popen[bytes], overdue: threading.Event
) -> threading.Timer | None:
    if deadline is None:
        return None

    def stop() -> None:
        overdue.set()
        _STOPPER.interrupt(proc)
        _stop(proc)  # interrupted again, then killed: nothing of the build is left running

    timer = threading.Timer(deadline.left(), stop)
    timer.daemon = True
    timer.start()
    return timer


class _Build:
    """The build's process, once started, for the Ctrl-C handler to signal."""

    proc: subprocess.Popen[bytes] | None = None

    def interrupt(self) -> None:
        if self.proc is not None:
            _STOPPER.interrupt(self.proc)

    def kill(self) -> None:
        if self.proc is not None:
            _STOPPER.kill(self.proc)


def _status(code: int) -> str:
    if code < 0:
        return f"{code} (killed by signal {-code})"
    if code == 127:
        return "127 (command not found)"
    return str(code)


class _GroupStop:
    """POSIX: the build runs in a process group of its own, so that a Ctrl-C reaches every
    process it started (the shell, npm, the bundler), not the shell alone, and a kill
    leaves none of them behind, even once the shell itself has exited."""

    def popen_args(self) -> dict[str, Any]:
        if sys.version_info >= (3, 11):
            return {"process_group": 0}
        return {"start_new_session": True}  # pragma: no cover - Python 3.10

    def interrupt(self, proc: subprocess.Popen[bytes]) -> None:
        self._signal(proc, signal.SIGINT)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        self._signal(proc, signal.SIGKILL)

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)


class _ProcessStop:
    """Where there is no os.killpg (Windows). The build starts in a new process group
    (CREATE_NEW_PROCESS_GROUP), the one thing Windows can send a console event to short of
    the whole console: CTRL_BREAK_EVENT reaches cmd.exe and every process it started, as
    SIGINT to the group does on POSIX (CTRL_C_EVENT cannot be aimed at a group, and the
    group ignores the console's own Ctrl-C, so the first Ctrl-C is ours to pass on here too).
    A kill takes the process tree (taskkill /T): TerminateProcess (``proc.kill()``) would end
    cmd.exe alone and leave npm and node running, holding the --quiet pipe open. Unlike a
    process group, a tree is lost once cmd.exe has exited: a child that outlived it stays.
    Elsewhere without killpg (no such platform is known) only the process started is
    signalled and killed.
    """

    def popen_args(self) -> dict[str, Any]:
        # getattr: these exist on Windows only (and Popen refuses creationflags elsewhere).
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags} if flags else {}

    def interrupt(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):  # it is gone already
            proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", signal.SIGINT))

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            return  # _stop kills after every stop: no taskkill for a build that has ended
        if sys.platform == "win32":
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=STOP_SECONDS,
                )
        with contextlib.suppress(OSError):  # still there if taskkill could not end it
            proc.kill()


# Chosen once, by what the platform has.
_STOPPER: _GroupStop | _ProcessStop = _GroupStop() if hasattr(os, "killpg") else _ProcessStop()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Give the build, which the Ctrl-C was passed on to, a moment to stop; then kill what
    is left of it (a second Ctrl-C meanwhile kills it at once: see run_build).

    The Ctrl-C is passed on once more after :data:`AGAIN_SECONDS`: a shell that was
    starting its next command when the first came runs that command all the same (dash
    does), and only a second one reaches it.
    """
    try:
        proc.wait(timeout=AGAIN_SECONDS)
    except subprocess.TimeoutExpired:
        _STOPPER.interrupt(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_SECONDS - AGAIN_SECONDS)
    finally:
        _STOPPER.kill(proc)
        proc.wait()


def build_root(path: Path, output_dir: str | None) -> Path:
    """The directory that is bundled: PATH, or its output directory (which must be there)."""
    if output_dir is None:
        return path
    root = path / output_dir
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise UsageError(
            f"the output directory {output_dir} {what} in {path}",
            hint="run the build first (or set --build-command), or fix --output-dir / "
            "output_dir in mixpeek.toml",
        )
    with os.scandir(root) as entries:
        if next(entries, None) is None:
            raise UsageError(
                f"the output directory {output_dir} is empty",
                hint="check that the build writes its output there",
            )
    return root
