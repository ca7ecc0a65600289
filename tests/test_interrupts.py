"""The first Ctrl-C waits out Python's import machinery, then interrupts; the second exits.

These call the handlers the way the interpreter does, with the frame a signal landed in:
a real frame captured while a module is being imported, and an ordinary one.
"""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from mixpeek_cli import interrupts


@pytest.fixture
def import_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FrameType:
    """A frame of a module's top-level code, taken while importlib runs it."""
    (tmp_path / "grab_frame_mod.py").write_text("import sys\nFRAME = sys._getframe()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("grab_frame_mod")
    monkeypatch.delitem(sys.modules, "grab_frame_mod")
    frame: FrameType = module.FRAME
    return frame


def waiting(handler: interrupts.Handler) -> bool:
    # A call, not the attribute: mypy would keep an asserted value across the handler calls.
    return handler.pending


@pytest.fixture
def handler() -> Iterator[interrupts.Handler]:
    installed = interrupts.install()
    assert installed is not None  # pytest runs tests on the main thread
    try:
        yield installed
    finally:
        interrupts.restore(installed)


def test_frames_inside_an_import_are_told_from_ordinary_ones(import_frame: FrameType) -> None:
    assert interrupts.in_import_machinery(import_frame)
    assert not interrupts.in_import_machinery(sys._getframe())
    assert not interrupts.in_import_machinery(None)


def test_a_ctrl_c_outside_an_import_interrupts_at_once(handler: interrupts.Handler) -> None:
    with pytest.raises(KeyboardInterrupt):
        handler.on_sigint(signal.SIGINT, sys._getframe())
    assert signal.getsignal(signal.SIGINT) is interrupts._exit_now


def test_a_ctrl_c_inside_an_import_waits_and_is_raised_when_it_is_over(
    handler: interrupts.Handler, import_frame: FrameType
) -> None:
    handler.on_sigint(signal.SIGINT, import_frame)  # does not raise

    assert waiting(handler)
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # tried again shortly
    assert signal.getsignal(signal.SIGINT) == handler.on_sigint  # still the first stage
    signal.setitimer(signal.ITIMER_REAL, 0)  # the test plays the timer itself

    handler.on_alarm(signal.SIGALRM, import_frame)  # still importing: waits again
    assert waiting(handler)
    signal.setitimer(signal.ITIMER_REAL, 0)

    with pytest.raises(KeyboardInterrupt):
        handler.on_alarm(signal.SIGALRM, sys._getframe())
    assert not waiting(handler)
    assert signal.getsignal(signal.SIGINT) is interrupts._exit_now


def test_a_waiting_ctrl_c_is_handed_to_a_critical_section_that_began_meanwhile(
    handler: interrupts.Handler, import_frame: FrameType
) -> None:
    handler.on_sigint(signal.SIGINT, import_frame)
    signal.setitimer(signal.ITIMER_REAL, 0)
    with interrupts.deferred() as held:
        handler.on_alarm(signal.SIGALRM, sys._getframe())  # does not raise in the section
    assert held.interrupted
    assert not waiting(handler)


def test_restore_cancels_a_waiting_retry(import_frame: FrameType) -> None:
    installed = interrupts.install()
    assert installed is not None
    installed.on_sigint(signal.SIGINT, import_frame)
    interrupts.restore(installed)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert signal.getsignal(signal.SIGALRM) is installed.previous_alarm
    assert signal.getsignal(signal.SIGINT) is installed.previous_sigint


def test_a_second_ctrl_c_while_the_first_waits_exits_with_130(tmp_path: Path) -> None:
    # os._exit ends the process: run it in a child interpreter.
    (tmp_path / "frame_mod.py").write_text("import sys\nFRAME = sys._getframe()\n")
    script = textwrap.dedent(
        """
        import signal, sys
        sys.path.insert(0, sys.argv[1])
        from mixpeek_cli import interrupts
        import frame_mod
        handler = interrupts.install()
        handler.on_sigint(signal.SIGINT, frame_mod.FRAME)
        handler.on_sigint(signal.SIGINT, frame_mod.FRAME)
        print("not reached")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 130
    assert done.stdout == ""
    assert "interrupted again" in done.stderr


def test_a_second_ctrl_c_right_after_the_first_is_raised_still_kills_the_child() -> None:
    # The moment that used to leave a build running: the first Ctrl-C has been raised,
    # and the clean-up that stops the child has not begun when the second one comes.
    script = textwrap.dedent(
        """
        import os, signal, time
        from mixpeek_cli import interrupts
        interrupts.install()  # the run's own two-stage handler underneath, as in the CLI
        say = lambda word: print(word, flush=True)
        with interrupts.passed_to_child(lambda: say("forwarded"), lambda: say("killed")) as c:
            try:
                c.started = True
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                say("first raised")
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
        say("not reached")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 130, done.stderr
    assert done.stdout.split() == ["forwarded", "first", "raised", "killed"]
    assert "interrupted again: exiting now" in done.stderr


def test_a_ctrl_c_before_the_child_has_started_is_only_noted() -> None:
    forwarded: list[str] = []
    previous = signal.getsignal(signal.SIGINT)
    try:
        with interrupts.passed_to_child(lambda: forwarded.append("int"), lambda: None) as ctrl_c:
            signal.raise_signal(signal.SIGINT)  # inside Popen, say: neither raised nor sent
            assert ctrl_c.interrupted
            assert forwarded == []
        # Over after a Ctrl-C: another one exits at once, as after any first Ctrl-C.
        assert signal.getsignal(signal.SIGINT) is interrupts._exit_now
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_block_with_no_ctrl_c_puts_the_handler_back() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with interrupts.passed_to_child(lambda: None, lambda: None) as ctrl_c:
        ctrl_c.started = True
        assert signal.getsignal(signal.SIGINT) is not previous
    assert signal.getsignal(signal.SIGINT) is previous
    assert not ctrl_c.interrupted
