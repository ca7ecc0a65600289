"""Server functions: ``/functions/<path>`` runs ``api/<path>.ts`` (or ``.js``) in Node.

What Canvas does with a function, for ``mixpeek dev`` (the app's directory) and the
emulator (a deploy's ``source_files``, written to a directory of its own):

* :func:`find_function` maps the path to the file (``api/data/export.ts`` serves
  ``/functions/data/export``; ``.ts``, then ``.js``, ``.mts``, ``.mjs``);
* :class:`FunctionHost.run` bundles it with esbuild into ``.mixpeek/build/`` (so a saved
  change is what the next request runs), starts ``node runner.mjs`` (one process a
  request: nothing of one run reaches the next, and a hung handler is killed after
  :data:`TIMEOUT_SECONDS`) and talks to it over its stdin and stdout: the request, then
  each ``ctx.kv`` call answered from the store, then the result;
* the result ``{status = 200, body, headers = {}}`` becomes the answer: an object body as
  JSON, a string as text (a Content-Type the handler sets wins). A handler that throws
  answers 500 ``{"error": ...}`` without its message (the browser sees no stack); the
  stack and every ``console`` line go to ``on_log``, which prints or records them.

The run is blocking; servers call it from a worker thread.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mixpeek_cli.runtime import esbuild
from mixpeek_cli.runtime.kv import KvError, KvStore
from mixpeek_cli.runtime.node import NodeMissing, find_node
from mixpeek_cli.runtime.static import under

FUNCTIONS_PREFIX = "/functions"
FUNCTIONS_DIR = "api"
EXTENSIONS = (".ts", ".js", ".mts", ".mjs")
BUILD_DIR = ".mixpeek/build"
# How long a handler may run before it is killed and the request answers 504 [assumed].
TIMEOUT_SECONDS = 30.0
RUNNER = Path(__file__).with_name("runner.mjs")
# The variables of this machine a function's Node process keeps (process.env is not ctx.env).
_NODE_ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TEMP", "TMP", "TMPDIR")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Set by the server from the body it sends, never by the handler.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*$")

# on_log(level, text): level is "log", "info", "warn" or "error".
LogSink = Callable[[str, str], None]


@dataclass(frozen=True)
class FunctionRequest:
    method: str
    path: str  # the whole request path, "/functions/hello"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class FunctionAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    # Why it failed (500/504), for the log; None when the handler answered.
    error: str | None = None


def function_name(path: str) -> str | None:
    """``"data/export"`` for ``/functions/data/export``; None when not under /functions."""
    if not under(path, FUNCTIONS_PREFIX):
        return None
    return path[len(FUNCTIONS_PREFIX) :].strip("/")


def find_function(root: Path, name: str) -> Path | None:
    """The file under ``root/api`` that serves ``/functions/<name>``, or None."""
    parts = name.split("/") if name else []
    if not parts or not all(_PART.match(part) and part not in (".", "..") for part in parts):
        return None
    base = root.joinpath(FUNCTIONS_DIR, *parts)
    for extension in EXTENSIONS:
        candidate = base.with_name(base.name + extension)
        if candidate.is_file():
            return candidate
    return None


def has_functions(root: Path) -> bool:
    """Whether ``root/api`` holds any function source."""
    folder = root / FUNCTIONS_DIR
    return folder.is_dir() and any(
        path.suffix in EXTENSIONS for path in folder.rglob("*") if path.is_file()
    )


def request_body(raw: bytes) -> Any:
    """``ctx.req.body``: the parsed JSON, else the text; None when empty [assumed]."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def error_answer(status: int, message: str, error: str) -> FunctionAnswer:
    body = json.dumps({"error": message}).encode()
    return FunctionAnswer(status, [("content-type", "application/json")], body, error)


class FunctionHost:
    """Runs the functions under one directory, with one env and one KV store.

    ``say(line)`` is told what people should know once (esbuild being installed).
    """

    def __init__(
        self,
        root: Path,
        *,
        env: Callable[[], Mapping[str, str]],
        kv: KvStore,
        say: Callable[[str], None] | None = None,
        timeout: float = TIMEOUT_SECONDS,
        app_root: Path | None = None,
    ) -> None:
        self.root = root
        self._env = env
        self.kv = kv
        self._say = say
        self._timeout = timeout
        # Where node_modules is (the app's directory), for esbuild and imports.
        self._app_root = app_root or root
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._closed = False

    def run(self, name: str, request: FunctionRequest, on_log: LogSink) -> FunctionAnswer | None:
        """Run ``/functions/<name>``; None when no file serves it (a 404)."""
        source = find_function(self.root, name)
        if source is None:
            return None
        label = source.relative_to(self.root).as_posix()
        try:
            node = find_node()
        except NodeMissing as exc:
            on_log("error", exc.one_line())
            return error_answer(500, "server functions need Node.js here", exc.one_line())
        build_dir = self._app_root / BUILD_DIR
        module = build_dir / f"{name.replace('/', '.')}.{secrets.token_hex(4)}.mjs"
        try:
            built = self._build(source, module)
        except (esbuild.BuildFailed, esbuild.EsbuildMissing) as exc:
            text = exc.one_line() if isinstance(exc, esbuild.EsbuildMissing) else str(exc)
            on_log("error", f"{label} did not build: {text}")
            return error_answer(500, f"{label} did not build", f"build failed: {text}")
        try:
            return self._exchange(node.path, built, label, request, on_log)
        finally:
            if built == module:
                module.unlink(missing_ok=True)

    def _build(self, source: Path, module: Path) -> Path:
        """The module to import: ``source`` bundled by esbuild; a JavaScript file as it is
        when esbuild cannot be had (TypeScript needs it)."""
        try:
            program = esbuild.ensure_esbuild(self._app_root, self._say)
        except esbuild.EsbuildMissing:
            if source.suffix in (".js", ".mjs"):
                return source
            raise
        module.parent.mkdir(parents=True, exist_ok=True)
        esbuild.build(program, source, module, cwd=self._app_root)
        return module

    def _exchange(
        self, node: str, module: Path, label: str, request: FunctionRequest, on_log: LogSink
    ) -> FunctionAnswer:
        start = {
            "module": module.resolve().as_uri(),
            "file": label,
            "req": {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": request_body(request.body),
                "headers": request.headers,
            },
            "env": dict(self._env()),
        }
        keep = {k: v for k, v in os.environ.items() if k.upper() in _NODE_ENV_KEPT}
        proc = subprocess.Popen(
            [node, "--enable-source-maps", str(RUNNER)],
            cwd=self._app_root,
            env=keep,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        with self._lock:
            if self._closed:
                proc.kill()
            self._running.add(proc)
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(self._timeout, expire)
        timer.daemon = True
        stderr_lines: list[str] = []
        drain = threading.Thread(
            target=_drain, args=(proc.stderr, stderr_lines, on_log), daemon=True
        )
        drain.start()
        timer.start()
        started = time.monotonic()
        try:
            outcome = self._talk(proc, start, on_log)
        finally:
            timer.cancel()
            _close(proc)
            drain.join(timeout=5)
            with self._lock:
                self._running.discard(proc)
        if timed_out.is_set():
            seconds = time.monotonic() - started
            on_log("error", f"{label} was stopped after {seconds:.0f} s")
            return error_answer(
                504, f"the server function ran over {self._timeout:g} s", f"{label} timed out"
            )
        if outcome is None:
            why = stderr_lines[-1] if stderr_lines else f"node exited with {proc.returncode}"
            return error_answer(500, "the server function crashed", f"{label}: {why}")
        if "error" in outcome:
            failure = outcome["error"] if isinstance(outcome["error"], dict) else {}
            stack = str(failure.get("stack") or failure.get("message") or "error")
            on_log("error", stack)
            message = str(failure.get("message") or "error")
            return error_answer(500, "the server function threw an error", f"{label}: {message}")
        return _result(outcome.get("result"), label, on_log)

    def _talk(
        self, proc: subprocess.Popen[bytes], start: dict[str, Any], on_log: LogSink
    ) -> dict[str, Any] | None:
        """Send the request, answer kv calls, pass logs on; the outcome message, or None
        when the process ended without one."""
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None
        try:
            _send(stdin, start)
            for raw in stdout:
                try:
                    message = json.loads(raw)
                except ValueError:
                    on_log("log", raw.decode("utf-8", "replace").rstrip("\r\n"))
                    continue
                if not isinstance(message, dict):
                    continue
                if "log" in message:
                    on_log(str(message.get("log")), str(message.get("text", "")))
                elif "kv" in message:
                    _send(stdin, self._kv_call(message))
                elif "result" in message or "error" in message:
                    return message
        except (BrokenPipeError, OSError):
            return None
        return None

    def _kv_call(self, message: dict[str, Any]) -> dict[str, Any]:
        op, call_id = message.get("kv"), message.get("id")
        try:
            if op == "get":
                value: Any = self.kv.get(message.get("key"))  # type: ignore[arg-type]
            elif op == "set":
                ttl = message.get("ttl")
                self.kv.set(message.get("key"), message.get("value"), ttl)  # type: ignore[arg-type]
                value = None
            elif op == "del":
                value = self.kv.delete(message.get("key"))  # type: ignore[arg-type]
            elif op == "keys":
                value = self.kv.keys(str(message.get("prefix") or ""))
            else:
                return {"id": call_id, "error": f"kv: unknown call {op!r}"}
        except KvError as exc:
            return {"id": call_id, "error": str(exc)}
        return {"id": call_id, "value": value}

    def close(self) -> None:
        """Kill every function still running (the server is stopping)."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for proc in running:
            _close(proc, at_once=True)


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _drain(stream: IO[bytes] | None, into: list[str], on_log: LogSink) -> None:
    """Node's own stderr (a crash, a warning): each line to the log as an error."""
    if stream is None:
        return
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        into.append(line)
        on_log("error", line)


def _close(proc: subprocess.Popen[bytes], *, at_once: bool = False) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        proc.wait(timeout=0 if at_once else 2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _result(result: Any, label: str, on_log: LogSink) -> FunctionAnswer:
    if not isinstance(result, dict):
        return error_answer(500, "the server function gave no answer", f"{label}: no result")
    status = result.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        on_log("error", f"{label} returned status {status!r}: not an HTTP status")
        return error_answer(
            500, "the server function returned no valid status", f"{label}: status {status!r}"
        )
    kind, text = result.get("kind"), str(result.get("body") or "")
    if kind == "base64":
        body = base64.b64decode(text)
        default_type = "application/octet-stream"
    else:
        body = text.encode("utf-8")
        default_type = {"json": "application/json", "text": "text/plain; charset=utf-8"}.get(
            str(kind), ""
        )
    headers: list[tuple[str, str]] = []
    given = result.get("headers")
    if not isinstance(given, dict):
        given = {}
    for name, value in given.items():
        name, value = str(name), str(value)
        lower = name.lower()
        if lower in _FRAMING or not _HEADER_NAME.match(name):
            continue
        if "\r" not in value and "\n" not in value:
            headers.append((lower, value))
    if default_type and not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", default_type))
    return FunctionAnswer(status, headers, body)
