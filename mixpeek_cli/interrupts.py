"""Ctrl-C handling: the first one interrupts cleanly, a second one exits at once.

A short critical section (creating the deploy) defers the first Ctrl-C until it is done,
so the CLI never loses track of a deploy the server has already made.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from mixpeek_cli.errors import ExitCode


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"\ninterrupted again: exiting now\n")
    os._exit(int(ExitCode.INTERRUPTED))


def _first_sigint(signum: int, frame: FrameType | None) -> None:
    # Clean-up after the first Ctrl-C (removing a temp zip, aborting an upload) may
    # block; a second Ctrl-C must end the process at once, whatever it is doing.
    signal.signal(signal.SIGINT, _exit_now)
    raise KeyboardInterrupt


def _in_main_thread() -> bool:
    # Signal handlers can only be set from the main thread.
    return threading.current_thread() is threading.main_thread()


def install() -> Any:
    """Install the two-stage handler; returns what to pass to :func:`restore`."""
    return signal.signal(signal.SIGINT, _first_sigint) if _in_main_thread() else None


def restore(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Deferred:
    interrupted: bool = False


@contextmanager
def deferred() -> Iterator[Deferred]:
    """Hold a first Ctrl-C until the block ends; the caller checks ``.interrupted``."""
    state = Deferred()
    if not _in_main_thread():
        yield state
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        if state.interrupted:
            _exit_now(signum, frame)
        state.interrupted = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
