"""Ctrl-C handling: the first one interrupts cleanly, a second one exits at once.

A short critical section (creating the deploy) defers the first Ctrl-C until it is done,
so the CLI never loses track of a deploy the server has already made.

The first Ctrl-C is also held back, for a few milliseconds at a time, while Python's
import machinery is running. Its code is not safe against an exception raised at any
bytecode: a KeyboardInterrupt that lands in a module lock's weakref callback, between
taking the global import lock and the ``try`` that releases it, is printed and dropped
(the Ctrl-C is lost) and leaves that lock held for good, so the next ``import`` on any
other thread (the secret scan's) waits forever and so does the
command that joins it. Measured before this: 1 run in 10 of a Ctrl-C while bundling
hung or died of the signal on a busy machine.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from mixpeek_cli.errors import ExitCode

# How long a Ctrl-C that landed in the import machinery waits before it is tried again.
RETRY_SECONDS = 0.005
_IMPORT_MACHINERY = "<frozen importlib."


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"\ninterrupted again: exiting now\n")
    os._exit(int(ExitCode.INTERRUPTED))


def in_import_machinery(frame: FrameType | None) -> bool:
    """Whether ``frame`` or any frame that called it is importlib's own code."""
    while frame is not None:
        if frame.f_code.co_filename.startswith(_IMPORT_MACHINERY):
            return True
        frame = frame.f_back
    return False


@dataclass
class Handler:
    """The installed handlers, and what they replaced (for :func:`restore`)."""

    previous_sigint: Any = None
    previous_alarm: Any = None
    can_wait: bool = False  # a timer can try again later (not on Windows)
    pending: bool = False

    def on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.pending:
            _exit_now(signum, frame)  # a second Ctrl-C while the first waits
        self._raise_when_safe(frame)

    def on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self.pending:
            return
        current = signal.getsignal(signal.SIGINT)
        if current == self.on_sigint:
            self._raise_when_safe(frame)
        elif callable(current):
            # A critical section began meanwhile: its handler decides (it holds the Ctrl-C).
            self.pending = False
            current(signal.SIGINT, frame)

    def _raise_when_safe(self, frame: FrameType | None) -> None:
        if self.can_wait and in_import_machinery(frame):
            self.pending = True
            signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
            return
        self.pending = False
        # Clean-up after the first Ctrl-C (removing a temp zip, aborting an upload) may
        # block; a second Ctrl-C must end the process at once, whatever it is doing.
        signal.signal(signal.SIGINT, _exit_now)
        raise KeyboardInterrupt


def _in_main_thread() -> bool:
    # Signal handlers can only be set from the main thread.
    return threading.current_thread() is threading.main_thread()


def install() -> Handler | None:
    """Install the two-stage handler; returns what to pass to :func:`restore`."""
    if not _in_main_thread():
        return None
    handler = Handler()
    handler.can_wait = hasattr(signal, "setitimer")  # not on Windows: never held back there
    if handler.can_wait:
        handler.previous_alarm = signal.signal(signal.SIGALRM, handler.on_alarm)
    handler.previous_sigint = signal.signal(signal.SIGINT, handler.on_sigint)
    return handler


def restore(handler: Handler | None) -> None:
    if handler is None:
        return
    signal.signal(signal.SIGINT, handler.previous_sigint)
    if handler.can_wait:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler.previous_alarm)


@dataclass
class ChildCtrlC:
    """What :func:`passed_to_child` and its block tell each other."""

    started: bool = False  # set by the block once the child process exists
    interrupted: bool = False  # a Ctrl-C came


@contextmanager
def passed_to_child(forward: Callable[[], None], kill: Callable[[], None]) -> Iterator[ChildCtrlC]:
    """Ctrl-C while the block runs a child process (a build) and, after one, stops it.

    The first Ctrl-C is passed on (``forward``) and raised as KeyboardInterrupt, once the
    block has set ``started``; before that it is only noted, as :func:`deferred` does (one
    raised inside ``Popen`` would leave a child nothing stops), and the block checks
    ``interrupted``. Any later Ctrl-C, until the block ends, runs ``kill`` (something
    quick) and exits at once. One handler from start to end: no moment between the first
    Ctrl-C and the clean-up it starts lets a second one exit without ``kill``. Once the
    block has ended after a Ctrl-C, another one exits at once.
    """
    state = ChildCtrlC()
    if not _in_main_thread():
        yield state
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.interrupted:
            kill()
            _exit_now(signum, frame)
        state.interrupted = True
        if state.started:
            forward()
            # Inside importlib the raise could be lost (see above); the child got the
            # Ctrl-C all the same, and the block sees ``interrupted`` once it has exited.
            if not in_import_machinery(frame):
                raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, _exit_now if state.interrupted else previous)


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
