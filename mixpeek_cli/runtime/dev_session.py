"""One run of ``mixpeek dev``: start everything, serve until Ctrl-C, stop everything.

In order: the dotenv files are read (a bad one stops here, exit 2); with functions under
``api/``, Node is checked (missing: exit 2) and esbuild made ready; the port is bound
(taken: exit 2; the default 3000 moves on to the next free one, said so); the dev command,
if any, is started in a group of its own and waited for until it answers; then the server
runs on a thread of its own while this one waits. A Ctrl-C (or SIGTERM) stops the server,
the functions still running and the dev command's whole group, and the run ends 0; a
second Ctrl-C meanwhile kills them at once. A dev command that ends on its own ends the
run too, exit 1.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from mixpeek_cli import interrupts
from mixpeek_cli.errors import UsageError
from mixpeek_cli.runtime.api_forward import ApiTarget
from mixpeek_cli.runtime.dev_env import DevEnv, DotenvFile
from mixpeek_cli.runtime.kv import KV_FILE, KvStore

if TYPE_CHECKING:
    import uvicorn

    from mixpeek_cli.config.frontends import Frontend
    from mixpeek_cli.runtime.dev_process import DevProcess
    from mixpeek_cli.runtime.dev_server import DevServer

DEFAULT_PORT = 3000
# How many ports after the default one are tried when it is taken.
PORT_TRIES = 10
START_TIMEOUT = 120.0
STATE_DIR = ".mixpeek"


@dataclass(frozen=True)
class DevOptions:
    root: Path
    port: int
    port_given: bool
    dev_command: str | None  # as configured; None: serve the files
    frontend: Frontend | None
    output_dir: str | None
    env_file: Path
    env_file_given: bool
    secrets_file: Path
    secrets_file_given: bool
    remote_env: Mapping[str, str]
    app_id: str
    slug: str
    api: ApiTarget
    namespace: str | None
    quiet: bool = False


@dataclass(frozen=True)
class Started:
    url: str
    port: int
    dev_command: str | None  # as run, the port in it
    serving: str  # what answers pages, for people


def run_dev(
    options: DevOptions, say: Callable[[str], None], ready: Callable[[Started], None]
) -> int:
    """Serve until interrupted; the exit code. ``ready`` is told once everything answers."""
    from mixpeek_cli.runtime.functions import FunctionHost, has_functions

    root = options.root
    env = DevEnv(
        options.remote_env,
        _dotenv(options.env_file, options.env_file_given, say),
        _dotenv(options.secrets_file, options.secrets_file_given, say),
        _system_env(options.api, options.namespace),
    )
    if has_functions(root):
        _prepare_functions(root, say)
    sock = _bind(options.port, options.port_given, say)
    functions = FunctionHost(
        root, env=env.function, kv=KvStore(_state_dir(root) / KV_FILE), say=say
    )
    process: DevProcess | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    # The dev command from the moment it exists (a second Ctrl-C may come while it starts).
    started: list[DevProcess] = []

    def kill_now() -> None:  # a second Ctrl-C: nothing may be left behind, at once
        functions.close()
        for each in started:
            each.stop(grace=0)

    with _sigterm_as_ctrl_c(), interrupts.passed_to_child(lambda: None, kill_now) as ctrl_c:
        try:
            ctrl_c.started = True
            upstream, process, command = _start_pages(options, say, ctrl_c, started)
            app = _server_app(options, env, functions, upstream, say)
            server, thread = _serve(app, sock)
            port = sock.getsockname()[1]
            serving = f"pages from `{command}`" if command else f"files of {_static_root(options)}"
            ready(Started(f"http://localhost:{port}", port, command, serving))
            while thread.is_alive():
                if ctrl_c.interrupted:  # one that landed in an import is only noted
                    raise KeyboardInterrupt
                if process is not None and process.returncode() is not None:
                    say(
                        f"the dev command ended (exit code {process.returncode()}): "
                        "mixpeek dev stops"
                    )
                    return 1
                time.sleep(0.1)
            return 1
        except KeyboardInterrupt:
            say("stopping")
            return 0
        finally:
            if server is not None:
                server.should_exit = True
            if thread is not None:
                thread.join(timeout=5)
            functions.close()
            if process is not None:
                process.stop()
            sock.close()
            say("mixpeek dev stopped")


def _dotenv(path: Path, given: bool, say: Callable[[str], None]) -> DotenvFile:
    try:
        return DotenvFile(path, required=given, say=say)
    except FileNotFoundError:
        raise UsageError(
            f"{path} does not exist", hint="check --env-file / --secrets-file"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _system_env(api: ApiTarget, namespace: str | None) -> dict[str, str]:
    """What ``ctx.env`` gets from the CLI's settings, as Canvas gives it the org's."""
    values = {}
    if api.api_key:
        values["MIXPEEK_API_KEY"] = api.api_key
    if namespace:
        values["MIXPEEK_NAMESPACE_ID"] = namespace
    return values


def _prepare_functions(root: Path, say: Callable[[str], None]) -> None:
    """Node now (none: exit 2, before anything starts); esbuild now, so the first request
    does not wait for its install (it failing is said, and TypeScript answers 500)."""
    from mixpeek_cli.runtime import esbuild
    from mixpeek_cli.runtime.node import find_node

    find_node()
    try:
        esbuild.ensure_esbuild(root, say)
    except esbuild.EsbuildMissing as exc:
        say(f"warning: {exc.one_line()}; TypeScript functions answer 500 until it can be had")


def _state_dir(root: Path) -> Path:
    """``.mixpeek/``, with a .gitignore of its own: git leaves it out, as the bundle does."""
    folder = root / STATE_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Written by mixpeek dev: local state, never committed or shipped.\n*\n")
    return folder


def _bind(port: int, given: bool, say: Callable[[str], None]) -> socket.socket:
    tries = 1 if given or port == 0 else PORT_TRIES
    for offset in range(tries):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        # IPPROTO_TCP: asyncio sets TCP_NODELAY only then (see emulator/server.py).
        if hasattr(socket, "SO_REUSEADDR") and not _windows():
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port + offset))
            sock.listen(128)
        except OSError:
            sock.close()
            continue
        if offset:
            say(f"port {port} is taken: using {port + offset}")
        return sock
    hint = (
        "pass another --port"
        if given
        else f"free one of ports {port}-{port + tries - 1}, or pass --port"
    )
    raise UsageError(
        f"port {port} is taken" if tries == 1 else f"ports {port}-{port + tries - 1} are taken",
        hint=hint,
    )


def _windows() -> bool:
    import sys

    return sys.platform == "win32"


def _static_root(options: DevOptions) -> Path:
    return options.root / options.output_dir if options.output_dir else options.root


def _start_pages(
    options: DevOptions,
    say: Callable[[str], None],
    ctrl_c: interrupts.ChildCtrlC,
    started: list[DevProcess],
) -> tuple[Any, DevProcess | None, str | None]:
    """The dev command started and answering (its Upstream), or None to serve files."""
    if not options.dev_command:
        return None, None, None
    import os

    from mixpeek_cli.config.frontends import dev_command_for_port
    from mixpeek_cli.runtime.dev_process import DevProcess, free_port
    from mixpeek_cli.runtime.proxy import Upstream

    port = free_port()
    command = dev_command_for_port(options.dev_command, port, options.frontend)
    child_env = {**os.environ, "PORT": str(port), "BROWSER": "none"}
    say(f"starting the dev command: {command}")
    ctrl_c.started = False  # a Ctrl-C inside Popen is only noted: no child left unseen
    process = DevProcess(
        command,
        cwd=options.root,
        port=port,
        env=child_env,
        on_line=lambda line: say(f"[dev] {line}"),
    )
    started.append(process)
    ctrl_c.started = True
    try:
        if ctrl_c.interrupted:
            raise KeyboardInterrupt
        host = process.wait_until_answers(START_TIMEOUT)
    except BaseException:
        process.stop()
        raise
    return Upstream(host, port), process, command


def _server_app(
    options: DevOptions,
    env: DevEnv,
    functions: Any,
    upstream: Any,
    say: Callable[[str], None],
) -> DevServer:
    from mixpeek_cli.runtime.dev_server import DevApp, DevServer, StaticFiles

    static = None
    if upstream is None:
        root = _static_root(options)
        if not root.is_dir():
            say(f"warning: {root} is not there yet: pages answer 404 until the build writes it")
        static = StaticFiles(root, _rules(options))
    app = DevApp(options.app_id, options.slug, env.page, options.api)
    return DevServer(app, functions, upstream=upstream, static=static, say=say, quiet=options.quiet)


def _rules(options: DevOptions) -> Any:
    """What the bundle would leave out of the served directory (never served either)."""
    from mixpeek_cli.bundle.ignore import load_ignore_rules, load_output_rules

    if options.output_dir:
        return load_output_rules(options.root, options.output_dir)
    return load_ignore_rules(options.root)


def _serve(app: DevServer, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    import uvicorn

    from mixpeek_cli.runtime.uvicorn_ws import websocket_protocol

    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        lifespan="off",
        ws=websocket_protocol(),
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mixpeek-dev", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise UsageError("the dev server did not start")
        time.sleep(0.01)
    return server, thread


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a process manager, `kill`) stops as a Ctrl-C does: nothing left behind."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def as_ctrl_c(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, as_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
