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
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixpeek_cli import interrupts
from mixpeek_cli.errors import Interrupted, UsageError
from mixpeek_cli.output.reporter import Reporter

TAIL_LINES = 20
# How long a build may take to stop after Ctrl-C before it is killed.
STOP_SECONDS = 5.0


@dataclass(frozen=True)
class BuildRun:
    command: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {"command": self.command, "seconds": round(self.seconds, 3)}


def run_build(command: str, cwd: Path, reporter: Reporter, *, quiet: bool = False) -> BuildRun:
    """Run ``command`` in ``cwd``; return once it succeeded, or raise."""
    reporter.info(f"building: {command}")
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    # A Ctrl-C while the build is being started is held until it has started: one that
    # landed inside Popen would leave a build running that nothing stops.
    with interrupts.deferred() as held:
        try:
            proc = subprocess.Popen(
                command,
                shell=True,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                # Straight to our stderr: the build sees a terminal where we have one.
                stdout=subprocess.PIPE if quiet else sys.stderr.fileno(),
                stderr=subprocess.STDOUT,
                **_own_group(),
            )
        except OSError as exc:
            raise UsageError(
                f"cannot run the build command {command!r}: {exc.strerror or exc}",
                hint="check the build command (--build-command / build_command in mixpeek.toml)",
            ) from None
    try:
        if held.interrupted:
            raise KeyboardInterrupt
        if proc.stdout is not None:
            for raw in proc.stdout:
                tail.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        code = proc.wait()
    except KeyboardInterrupt:
        _stop(proc)
        raise Interrupted(
            f"interrupted during the build ({command}); nothing was sent",
            hint="run the deploy again",
        ) from None
    if code != 0:
        for line in tail:
            reporter.info(f"  | {line}")
        raise UsageError(
            f"the build command {command!r} failed with exit status {_status(code)}; "
            "nothing was sent",
            hint="fix the build (its output is above), or deploy without it: --no-build",
        )
    return BuildRun(command, time.monotonic() - started)


def _status(code: int) -> str:
    if code < 0:
        return f"{code} (killed by signal {-code})"
    if code == 127:
        return "127 (command not found)"
    return str(code)


def _own_group() -> dict[str, Any]:
    """Start the build in a process group of its own, so that a Ctrl-C reaches every
    process it started (the shell, npm, the bundler), not the shell alone."""
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"start_new_session": True}  # pragma: no cover - Python 3.10


def _signal(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Pass the Ctrl-C on to the whole build, give it a moment, then kill what is left.

    A second Ctrl-C while it stops kills it at once: exiting would otherwise leave a
    build that ignores Ctrl-C running on its own, with no terminal to stop it from. That
    handler is in place before the first one is passed on: a second Ctrl-C sent as soon
    as the build reacts to the first (a person, a test) would otherwise find the plain
    exit-now handler, and leave the build running.
    """
    with interrupts.before_exit_now(lambda: _signal(proc, signal.SIGKILL)):
        _signal(proc, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        finally:
            _signal(proc, signal.SIGKILL)
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
