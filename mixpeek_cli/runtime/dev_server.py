"""The ``mixpeek dev`` server: one local address shaped like Canvas.

For each request, in this order: a path that could leave the app (``..``, a backslash, a
NUL) is 400; ``/functions/<path>`` runs the server function (``functions.py``, in a
worker thread); ``/api/*`` and ``/_api/*`` go to the Mixpeek API with the key added
(``api_forward.py``); anything else is the page: proxied to the dev command's server
(``proxy.py``, WebSocket too) or, without one, served from the output directory (or the
app's directory) as Canvas serves a deploy (``static.py``: GET and HEAD, the
single-page-app fallback), never a file the bundle would leave out nor a dot-file. Every
HTML answer gets ``window.__MIXPEEK__`` (``page.py``), with ``environment:
"development"`` and the env vars as they are at that moment.

Each request is one line on the terminal (``say``): method, path, status, time and what
answered it (``fn``, ``api`` or ``page``); a function's ``console`` lines and stack follow
it, each prefixed with ``[fn <path>]``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.runtime.api_forward import ApiTarget, forward
from mixpeek_cli.runtime.asgi import (
    Receive,
    Scope,
    Send,
    answer,
    function_request,
    read_body,
    text_answer,
)
from mixpeek_cli.runtime.functions import FunctionHost, error_answer, function_name
from mixpeek_cli.runtime.page import inject, is_html, mixpeek_globals_script
from mixpeek_cli.runtime.static import content_type, find, path_parts, under, unsafe_path

if TYPE_CHECKING:
    import httpx

    from mixpeek_cli.bundle.ignore import IgnoreRules
    from mixpeek_cli.runtime.proxy import Upstream

ENVIRONMENT = "development"
_STATIC_METHODS = ("GET", "HEAD")
_WELL_KNOWN = ".well-known"


@dataclass(frozen=True)
class DevApp:
    """What ``window.__MIXPEEK__`` says and where ``/api`` goes."""

    app_id: str
    slug: str
    public_env: Callable[[], Mapping[str, str]]  # read at each page: a saved .env.local shows
    api: ApiTarget


class StaticFiles:
    """A directory served as Canvas serves a deploy: only what the bundle would ship."""

    def __init__(self, root: Path, rules: IgnoreRules | None) -> None:
        self.root = root
        self._real_root = root.resolve()
        self._rules = rules

    def is_file(self, relpath: str) -> bool:
        parts = relpath.split("/")
        if any(part.startswith(".") and part != _WELL_KNOWN for part in parts):
            return False
        if self._rules is not None and self._rules.is_excluded_path(relpath):
            return False
        path = self.root.joinpath(*parts)
        try:
            path.resolve().relative_to(self._real_root)  # no symlink out of the site
        except (OSError, ValueError):
            return False
        return path.is_file()

    def read(self, relpath: str) -> bytes:
        return self.root.joinpath(*relpath.split("/")).read_bytes()


class DevServer:
    """The ASGI application."""

    def __init__(
        self,
        app: DevApp,
        functions: FunctionHost,
        *,
        upstream: Upstream | None,
        static: StaticFiles | None,
        say: Callable[[str], None],
        quiet: bool = False,
    ) -> None:
        self.app = app
        self.functions = functions
        self._upstream = upstream
        self._static = static
        self._say = say
        self._quiet = quiet
        self._client: httpx.AsyncClient | None = None

    def inject(self, html: bytes) -> bytes:
        env = self.app.public_env()
        script = mixpeek_globals_script(self.app.app_id, self.app.slug, ENVIRONMENT, env)
        return inject(html, script)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self._upstream is not None:
                self._line("WS", scope["path"], 101, 0.0, "page")
                await self._upstream.websocket(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1000})
            return
        if scope["type"] != "http":
            return
        started = time.monotonic()
        path: str = scope["path"] or "/"
        kind, status = await self._route(scope, receive, send, path)
        self._line(scope["method"], path, status, time.monotonic() - started, kind)

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, path: str
    ) -> tuple[str, int]:
        method = scope["method"]
        if unsafe_path(path):
            body, headers = text_answer(f"bad path {path!r}: it would leave the app")
            await answer(send, 400, body, headers)
            return "page", 400
        name = function_name(path)
        if name is not None:
            return "fn", await self._function(scope, receive, send, name)
        if under(path, "/api") or under(path, "/_api"):
            return "api", await forward(self.app.api, self._http(), scope, receive, send)
        if self._upstream is not None:
            return "page", await self._upstream.http(
                self._http(), self.inject, scope, receive, send
            )
        if method not in _STATIC_METHODS:
            body, headers = text_answer(f"method {method} not allowed: pages answer GET and HEAD")
            await answer(send, 405, body, [*headers, ("allow", ", ".join(_STATIC_METHODS))])
            return "page", 405
        return "page", await self._file(send, path, head=method == "HEAD")

    def _http(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            timeout = httpx.Timeout(300.0, connect=10.0)
            self._client = httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, trust_env=False
            )
        return self._client

    async def _file(self, send: Send, path: str, *, head: bool) -> int:
        static = self._static
        found = None if static is None else find(path_parts(path), static.is_file)
        if static is None or found is None or not static.is_file(found):
            body, headers = text_answer(f"not found: {path}")
            await answer(send, 404, body, headers, head=head)
            return 404
        kind = content_type(found)
        data = static.read(found)
        if is_html(kind):
            data = self.inject(data)
        await answer(
            send, 200, data, [("content-type", kind), ("cache-control", "no-cache")], head=head
        )
        return 200

    async def _function(self, scope: Scope, receive: Receive, send: Send, name: str) -> int:
        request = function_request(scope, await read_body(receive))

        def on_log(level: str, text: str) -> None:
            for line in text.splitlines() or [""]:
                self._say(f"[fn {name}] {line}")

        try:
            result = await asyncio.to_thread(self.functions.run, name, request, on_log)
        except Exception as exc:  # noqa: BLE001 - a broken run answers 500, the server stays up
            on_log("error", f"{type(exc).__name__}: {exc}")
            result = error_answer(500, "the server function could not run", str(exc))
        if result is None:
            result = error_answer(
                404, f"no server function at api/{name}.ts or .js", f"no api/{name}"
            )
        await answer(
            send, result.status, result.body, result.headers, head=scope["method"] == "HEAD"
        )
        return result.status

    def _line(self, method: str, path: str, status: int, seconds: float, kind: str) -> None:
        if self._quiet and status < 500:
            return
        self._say(f"{method} {path} {status} {seconds * 1000:.0f} ms {kind}")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
