"""Run the secret scan in a child interpreter, beside the zip writer.

The scan is regex and substring work that holds the interpreter lock; on a thread it
slows the zip writer it runs beside (measured: +0.25 s on a 91 MiB app). In a child
process it uses a core of its own. The child (:mod:`.child`) gets the file list as JSON
on stdin and answers with its findings, or the one error it met, as JSON on stdout.

The child starts isolated and without ``site`` (``-I -S``), with this package's parent
directory appended to ``sys.path`` (after the standard library, where site-packages
would be): it needs the standard library and this package alone, and skipping ``site``
and the ``.pth`` files halves its start-up (~60 ms to ~30 ms here), time it would
otherwise take from the zip writer's cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from mixpeek_cli.bundle.cores import usable_cores
from mixpeek_cli.bundle.secrets.scan import Finding, ScanFile, scan_files
from mixpeek_cli.errors import UsageError

POLL_SECONDS = 0.05
# Starting the child costs ~30 ms; a scan of less than this takes less than that on
# one core, so it is done here (the zip of such a tree is written in a few ms).
IN_PROCESS_BYTES = 2 * 1024 * 1024


def child_from_bytes() -> int:
    """The files' size from which the scan runs in a child: never on a single core.

    A child pays only on a core the zip writer leaves free: on a 90 MiB text tree it
    saved 30 % with two cores and cost 9 % on one (docs/performance.md).
    """
    return IN_PROCESS_BYTES if usable_cores() > 1 else sys.maxsize


_BOOT = (
    "import sys; sys.path.append(sys.argv[1]); "
    "from mixpeek_cli.bundle.secrets.child import serve; serve()"
)


def child_command() -> list[str]:
    """How the child is started: this interpreter, isolated, without ``site``."""
    return [sys.executable, "-I", "-S", "-c", _BOOT, _package_parent()]


def _package_parent() -> str:
    """The directory ``mixpeek_cli`` is imported from (site-packages, or a checkout)."""
    import mixpeek_cli

    return os.path.dirname(os.path.dirname(os.path.abspath(mixpeek_cli.__file__)))


class ScanChild:
    """A child started before its scan is asked for: while the walk still runs, on a core
    that is otherwise idle then, rather than beside the zip writer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._lock:
            if self._proc is None:
                self._proc = _spawn()

    def take(self) -> subprocess.Popen[bytes] | None:
        """The started child, now the caller's to use and stop (None if none started)."""
        with self._lock:
            proc, self._proc = self._proc, None
        return proc

    def close(self) -> None:
        """Stop a child no scan took."""
        proc = self.take()
        if proc is not None:
            _stop(proc)


def _spawn() -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError:
        return None  # no usable interpreter (a frozen build): the scan runs here


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def scan_in_child(
    files: Sequence[ScanFile],
    stop: threading.Event | None = None,
    *,
    in_process_below: int | None = None,
    started: ScanChild | None = None,
) -> list[Finding]:
    """``scan_files(files)``, computed by a child interpreter; in-process if none starts,
    or when the files hold fewer than ``in_process_below`` bytes (a child would not pay;
    default :func:`child_from_bytes`).

    ``started``: a child started earlier, used if it was; the caller still closes it.
    """
    if in_process_below is None:
        in_process_below = child_from_bytes()
    if sum(f.size for f in files) < in_process_below:
        return scan_files(files, stop)
    payload = json.dumps([[f.path, os.fspath(f.source), f.size] for f in files]).encode()
    child = (started.take() if started is not None else None) or _spawn()
    if child is None:
        return scan_files(files, stop)
    try:
        out = _wait(child, payload, stop)
    finally:
        _stop(child)
    if out is None:
        return []  # abandoned: the caller no longer wants the verdict
    return _parse(out, files, stop)


def _wait(
    child: subprocess.Popen[bytes], payload: bytes, stop: threading.Event | None
) -> bytes | None:
    # Written here, not through communicate(): a communicate() retried after a timeout
    # stops sending the rest of a large input. The child reads all of stdin before it
    # writes anything, so this cannot block on a full stdout pipe.
    assert child.stdin is not None
    try:
        child.stdin.write(payload)
        child.stdin.close()
    except BrokenPipeError:
        return b""  # the child is gone; _parse falls back to scanning here
    finally:
        child.stdin = None  # done with it: communicate() below must only read
    while True:
        try:
            out, _ = child.communicate(timeout=POLL_SECONDS)
            return out
        except subprocess.TimeoutExpired:
            if stop is not None and stop.is_set():
                return None


def _parse(out: bytes, files: Sequence[ScanFile], stop: threading.Event | None) -> list[Finding]:
    try:
        answer: Any = json.loads(out)
        if "error" in answer:
            raise UsageError(answer["error"]["message"], hint=answer["error"]["hint"])
        return [Finding.from_list(raw) for raw in answer["findings"]]
    except (ValueError, TypeError, KeyError):
        # The child died or answered nonsense: a scan must never be skipped, so do it here.
        return scan_files(files, stop)
