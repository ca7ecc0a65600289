"""The app's own dev server (``dev_command``): started in a process group of its own,
its output passed on line by line, waited for until it answers, and stopped with
everything it started.

POSIX (where there is ``os.killpg``): the command runs through the shell in a process
group of its own, as a deploy's build does (``deploy/build_step.py``), so a Ctrl-C at the
terminal reaches ``mixpeek dev`` only, which then stops the whole group: the shell, npm
under it and the server under that, even once the shell has exited. SIGTERM first,
SIGKILL for whatever is left after :data:`STOP_GRACE` seconds. Windows: a new process
group (CREATE_NEW_PROCESS_GROUP), CTRL_BREAK_EVENT first, then ``taskkill /T /F`` on the
tree. Its stdin is empty: a server in a background group that read the terminal would be
stopped (SIGTTIN).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mixpeek_cli.errors import UsageError

STOP_GRACE = 5.0
# Process groups to signal as a whole (POSIX); chosen once, by what the platform has.
_GROUPS = hasattr(os, "killpg")
# Where a dev server may listen: "localhost" is either, depending on the machine
# (Vite on Node 17+ often takes ::1 only).
_HOSTS = (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6))


class DevCommandFailed(UsageError):
    """The dev command ended, or never answered; the message says which."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the dev command is told to take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DevProcess:
    """One run of the dev command."""

    def __init__(
        self,
        command: str,
        *,
        cwd: Path,
        port: int,
        env: Mapping[str, str],
        on_line: Callable[[str], None],
    ) -> None:
        self.command = command
        self.port = port
        self._on_line = on_line
        options: dict[str, Any] = {}
        if not _GROUPS:
            # getattr: it exists on Windows only (and Popen refuses creationflags elsewhere).
            options["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        elif sys.version_info >= (3, 11):
            options["process_group"] = 0
        else:  # pragma: no cover - Python 3.10
            options["start_new_session"] = True
        self._proc = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **options,
        )
        self.pid = self._proc.pid
        self._reader = threading.Thread(target=self._pass_lines, name="dev-output", daemon=True)
        self._reader.start()

    def _pass_lines(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        for raw in stream:
            self._on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def returncode(self) -> int | None:
        return self._proc.poll()

    def wait_until_answers(self, timeout: float) -> str:
        """The host ("127.0.0.1" or "::1") the command's server answers on, once it does;
        DevCommandFailed when it ends first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise DevCommandFailed(
                    f"the dev command ended (exit code {code}) before it answered on port "
                    f"{self.port}: {self.command}",
                    hint="its output is above; fix it, or set dev_command in mixpeek.toml",
                )
            for host, family in _HOSTS:
                if _answers(host, family, self.port):
                    return host
            if time.monotonic() > deadline:
                raise DevCommandFailed(
                    f"the dev command did not answer on port {self.port} within "
                    f"{timeout:g} s: {self.command}",
                    hint="it must listen on the port given as PORT (or {port} in dev_command)",
                )
            time.sleep(0.05)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """End the command and everything it started, given ``grace`` seconds to end on its
        own before it is killed; safe to call more than once."""
        if _GROUPS:
            self._stop_group(grace)
        else:
            self._stop_tree(grace)
        self._reader.join(timeout=2)

    def _stop_group(self, grace: float) -> None:
        group = self.pid  # a new session's leader: its group id is its pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self._proc.poll()  # reap the shell, so only the others count
            if not _group_alive(group):
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=STOP_GRACE)

    def _stop_tree(self, grace: float) -> None:
        with contextlib.suppress(OSError, ValueError):  # gone already
            self._proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", signal.SIGTERM))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=grace)
        if sys.platform == "win32":  # pragma: no cover - Windows only
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    ["taskkill", "/F", "/T", "/PID", str(self.pid)],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=STOP_GRACE,
                    check=False,
                )
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=STOP_GRACE)


def _answers(host: str, family: socket.AddressFamily, port: int) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            sock.connect((host, port))
            return True
    except OSError:
        return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
