"""What the runtime tests share: esbuild ready before any CLI runs, a recording API stub,
and waiting for a background CLI's lines."""

from __future__ import annotations

import functools
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=1)
def esbuild_program() -> str:
    """esbuild, as the CLI finds it (in the user cache, installed there once by .ci/run
    or by this first call): passed to CLI subprocesses, whose cache dir is a temp one."""
    from mixpeek_cli.runtime.esbuild import ensure_esbuild

    return str(ensure_esbuild())


class Lines:
    """A background process's stream, read on a thread: wait for a line, keep them all."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        """The first line (from those not yet taken) holding ``needle``."""
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if needle in line:
                return line
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line with {needle!r} in:\n" + "\n".join(self.lines)
            try:
                got = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            assert got is not None, f"ended without {needle!r}:\n" + "\n".join(self.lines)
            self.lines.append(got)
            if needle in got:
                return got

    def rest(self, timeout: float = 30) -> str:
        """Everything, once the stream has ended."""
        self._thread.join(timeout)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    @property
    def text(self) -> str:
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)


class DevRun:
    """``mixpeek dev`` in the background: its URL, its stderr lines, Ctrl-C."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        self.err = Lines(proc.stderr)
        self.url = proc.stdout.readline().strip()
        assert self.url.startswith("http://localhost:"), self.url + self.err.rest()

    def stop(self) -> tuple[int, str]:
        """Ctrl-C; its exit code and its whole stderr."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        return code, self.err.rest()


def start_dev(args: list[str], env: dict[str, str], cwd: Path | None = None) -> DevRun:
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "mixpeek_cli", "dev", *args],
        env={**env, "MIXPEEK_ESBUILD": esbuild_program()},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        return DevRun(proc)
    except BaseException:
        proc.kill()
        raise


class ApiStub:
    """A stand-in for the Mixpeek API on loopback: records each request, answers the app
    for ``GET /v1/apps/<id>``, and echoes anything else, its Authorization header too (in
    the body and a header), so a test sees whether the key would reach a browser."""

    def __init__(self, apps: dict[str, dict[str, Any]]) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                record = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                stub.requests.append(record)
                app = apps.get(self.path.removeprefix("/v1/apps/"))
                payload = app if app is not None else {**record, "echo": "ok"}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("x-echo-auth", self.headers.get("authorization") or "")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[ApiStub]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie nobody reaped yet is gone too: it runs nothing.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True
