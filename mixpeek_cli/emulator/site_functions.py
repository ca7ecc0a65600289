"""Deployed sites' server functions and ``/api`` proxy, run by the CLI's runtime room.

``/functions/<path>`` of a site runs ``api/<path>.ts`` (or ``.js``) from the
``source_files`` of the version that environment serves, with the same runner as
``mixpeek dev`` (``mixpeek_cli/runtime/functions.py``): the files are written once per
version to a directory of this emulator's (removed with it), ``ctx.env`` is the app's env
vars and secrets as they are at that request (``state.function_env``), and ``ctx.kv`` is
a store per app and environment, in memory. Every ``console`` line becomes a runtime log
entry of its level (``route_path`` the function's path); a 500 (a throw, a crash, a build
error) or 504 also counts as an error in the app's analytics and error rate
(``admin.health.add_error``, type ``FunctionError``) [assumed: the service's error type
for it is not published].

``/api/*`` and ``/_api/*`` go to this emulator's own API with the app's
``MIXPEEK_API_KEY`` env var as the key, as Canvas's proxy does with the org's key: the
request reaches ``/v1`` as any client's would (recorded, checked). An app without that
env var has no proxy: 403 [assumed].
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mixpeek_cli.runtime.api_forward import ApiTarget, forward
from mixpeek_cli.runtime.asgi import Receive, Scope, Send
from mixpeek_cli.runtime.functions import FunctionAnswer, FunctionHost, FunctionRequest
from mixpeek_cli.runtime.kv import KvStore

if TYPE_CHECKING:
    import httpx

    from mixpeek_cli.emulator.state import EmulatorState

PROXY_KEY = "MIXPEEK_API_KEY"
ERROR_TYPE = "FunctionError"
NO_PROXY = (
    "the /api proxy is not enabled for this app: set MIXPEEK_API_KEY in its env vars "
    "(mixpeek env set MIXPEEK_API_KEY)"
)


class SiteFunctions:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._hosts: dict[tuple[str, int, str], FunctionHost] = {}
        self._stores: dict[tuple[str, str], KvStore] = {}
        self._client: httpx.AsyncClient | None = None

    async def run(
        self, app_id: str, environment: str, name: str, request: FunctionRequest
    ) -> FunctionAnswer | None:
        """Run ``/functions/<name>`` of what the environment serves; None: no such function."""
        host = self._host(app_id, environment)
        if host is None:
            return None
        route = name or None

        def on_log(level: str, text: str) -> None:
            kind = level if level in ("log", "info", "warn", "error") else "log"
            self.state.add_runtime_log(app_id, kind, text, route_path=route)  # type: ignore[arg-type]

        answer = await asyncio.to_thread(host.run, name, request, on_log)
        if answer is not None and answer.error is not None:
            self.state.admin.health.add_error(app_id, ERROR_TYPE, answer.error, url=request.path)
        return answer

    async def api(self, app_id: str, scope: Scope, receive: Receive, send: Send) -> int:
        import httpx

        key = self.state.function_env(app_id).get(PROXY_KEY) or None
        target = ApiTarget(self.state.api_base_url, key, None, no_key=NO_PROXY, no_key_status=403)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0), trust_env=False)
        return await forward(target, self._client, scope, receive, send)

    def _host(self, app_id: str, environment: str) -> FunctionHost | None:
        serving = self.state.serving(app_id).get(environment)
        if serving is None:
            return None
        number = serving[1]
        version = self.state.version(app_id, number)
        if version is None or not version.source_files:
            return None
        key = (app_id, number, environment)
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                root = self._write(app_id, number, version.source_files)
                store = self._stores.setdefault((app_id, environment), KvStore())
                host = FunctionHost(root, env=lambda: self.state.function_env(app_id), kv=store)
                self._hosts[key] = host
            return host

    def _write(self, app_id: str, number: int, files: Mapping[str, str]) -> Path:
        """The version's source files under a directory of their own (the lock held)."""
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="mixpeek-emulator-functions-")
        name = hashlib.sha256(f"{app_id}\0{number}".encode()).hexdigest()[:16]
        root = Path(self._dir.name) / name
        if root.is_dir():
            return root
        for path, text in files.items():
            parts = path.split("/")
            if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
                continue  # never written outside the directory
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    def close(self) -> None:
        with self._lock:
            hosts = list(self._hosts.values())
            self._hosts.clear()
        for host in hosts:
            host.close()
        if self._dir is not None:
            self._dir.cleanup()
