"""Serving the deployed sites: ``http://<label>.localhost:<port>/`` on the API's own server.

An ASGI middleware in front of everything else (the ``/v1`` API, its auth, its faults and
its request log): a request whose Host is ``<label>.localhost[:port]`` is answered here,
like a static host answers it, and recorded in ``state.site_requests``; any other request
goes on to the API. For a path, in this order:

* a ``..`` part (after percent-decoding), a backslash or a NUL: 400;
* ``/api`` and ``/_api`` and below, any method: the app's ``/api`` proxy to this
  emulator's own API (``site_functions``: the app's ``MIXPEEK_API_KEY`` env var is the
  key; 403 without one);
* ``/functions`` and below, any method, where the environment serves a version: its
  server function runs (``site_functions``, the runtime room's runner; 404 when no
  ``api/<path>.ts`` or ``.js`` serves the path);
* a method other than GET or HEAD: 405 with ``Allow: GET, HEAD``;
* no site deployed to that environment of that app: 404, saying so;
* ``/`` is ``index.html``; a file's path is the file; a folder holding ``index.html`` is
  that file; any other path whose last part has no extension is ``index.html`` (the
  single-page-app fallback); any other path is 404.

Content types come from the file extension (``runtime/static.py``;
``application/octet-stream`` when unknown). Every HTML answer gets ``window.__MIXPEEK__``
set by a script inserted right after ``<head>`` (at the very start when there is no
head), as the real service does: the system variables and the app's env vars as they are
at that moment, all but ``MIXPEEK_API_KEY`` (it enables the ``/api`` proxy), never a
secret (``runtime/page.py``, the code ``mixpeek dev`` injects with). Nothing here is
faulted by ``/_emulator/faults``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.site_functions import SiteFunctions
from mixpeek_cli.emulator.site_store import PublishedSite
from mixpeek_cli.emulator.sites import SiteAddress, resolve_label, site_label
from mixpeek_cli.emulator.state import EmulatorState
from mixpeek_cli.runtime.asgi import function_request, read_body
from mixpeek_cli.runtime.functions import function_name
from mixpeek_cli.runtime.page import API_BASE_URL, inject, mixpeek_globals_script
from mixpeek_cli.runtime.static import HTML, content_type, find, path_parts, under, unsafe_path

# Importable from here as before (tests and older callers): one copy, in runtime/.
__all__ = [
    "API_BASE_URL",
    "HTML",
    "SiteRouter",
    "content_type",
    "inject",
    "mixpeek_globals_script",
]

ALLOWED_METHODS = ("GET", "HEAD")
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _text(status: int, message: str, *headers: tuple[str, str]) -> _Answer:
    return _Answer(status, (message + "\n").encode(), TEXT, headers)


class SiteRouter:
    """ASGI middleware: answer ``*.localhost`` requests from the published sites."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state
        self.functions = SiteFunctions(state)
        state.on_stop.append(self.functions.close)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            label = site_label(headers.get("host", ""))
            if label is not None:
                await self._serve(scope, receive, send, label, headers)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, label: str, headers: Headers
    ) -> None:
        started = time.monotonic()
        arrived = utc_now()
        method: str = scope["method"]
        path: str = scope.get("path", "") or "/"
        address = self._address(label)
        if address.app_id is not None and not unsafe_path(path) and _is_api(path):
            # Streamed through as the API answers it: recorded once it is done.
            status = await self.functions.api(address.app_id, scope, receive, send)
            self._record(address, method, path, status, started, arrived, headers)
            return
        answer = await self._function(scope, receive, path, address)
        if answer is None:
            answer = self._answer(method, path, address)
        # A page served is a pageview in the app's analytics (health_store decides).
        self.state.admin.health.served(
            address.app_id,
            method,
            path,
            answer.status,
            answer.content_type,
            headers.get("user-agent"),
        )
        response_headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", str(len(answer.body)).encode()),
            *(
                (name.encode(), value.encode("latin-1", "replace"))
                for name, value in answer.headers
            ),
        ]
        if not any(name == "cache-control" for name, _ in answer.headers):
            # Sites change under the same URL with every deploy: always revalidate.
            response_headers.append((b"cache-control", b"no-cache"))
        # Recorded before anything goes out: whoever has the answer finds the record, and
        # a client that hangs up mid-answer is recorded too.
        self._record(address, method, path, answer.status, started, arrived, headers)
        start: Message = {
            "type": "http.response.start",
            "status": answer.status,
            "headers": response_headers,
        }
        await send(start)
        # HEAD: the headers a GET gets (Content-Length included), no body.
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else answer.body})

    def _record(
        self,
        address: SiteAddress,
        method: str,
        path: str,
        status: int,
        started: float,
        arrived: datetime,
        headers: Headers,
    ) -> None:
        self.state.record_site_request(
            {
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(1000 * (time.monotonic() - started), 3),
                "user_agent": headers.get("user-agent"),
                "timestamp": iso(arrived),
                "environment": address.environment,
                "app_id": address.app_id,
            }
        )

    async def _function(
        self, scope: Scope, receive: Receive, path: str, address: SiteAddress
    ) -> _Answer | None:
        """The server function's answer, where the path is one and the site is there;
        None: answered as a file (a 400, a 404 saying no site is deployed)."""
        name = function_name(path)
        if name is None or unsafe_path(path) or address.app_id is None:
            return None
        if self.state.sites.current(address.app_id, address.environment) is None:
            return None
        request = function_request(scope, await read_body(receive))
        ran = await self.functions.run(address.app_id, address.environment, name, request)
        if ran is None:
            return _text(404, f"no server function serves {path} (api/{name}.ts or .js)")
        kind = next((value for key, value in ran.headers if key == "content-type"), "")
        others = tuple((key, value) for key, value in ran.headers if key != "content-type")
        return _Answer(ran.status, ran.body, kind or "application/octet-stream", others)

    def _address(self, label: str) -> SiteAddress:
        sites = self.state.sites

        def published_at(app_id: str, environment: str) -> datetime | None:
            site = sites.current(app_id, environment)
            return site.published_at if site else None

        known = [*self.state.app_ids(), *(site.app_id for site in sites.all())]
        return resolve_label(label, known, published_at, self.state.slug_of)

    def _answer(self, method: str, path: str, address: SiteAddress) -> _Answer:
        if unsafe_path(path):
            return _text(400, f"bad path {path!r}: it would leave the site root")
        if method not in ALLOWED_METHODS:
            return _text(
                405,
                f"method {method} not allowed: sites answer GET and HEAD",
                ("allow", ", ".join(ALLOWED_METHODS)),
            )
        site = None
        if address.app_id is not None:
            site = self.state.sites.current(address.app_id, address.environment)
        if site is None:
            return _text(404, _no_site(address))
        found = _find(site, path_parts(path))
        if found is None:
            return _text(404, f"not found: {path}")
        kind = content_type(found)
        body = site.files[found]
        if kind == HTML:
            # The env vars as they are now (the runtime injects them at serve time),
            # never the proxy's key, never a secret.
            env_vars = self.state.page_env_vars(site.app_id)
            script = mixpeek_globals_script(site.app_id, address.slug, site.environment, env_vars)
            body = inject(body, script)
        return _Answer(200, body, kind)


def _is_api(path: str) -> bool:
    return under(path, "/api") or under(path, "/_api")


def _find(site: PublishedSite, parts: list[str]) -> str | None:
    """The file that answers a path (its parts), or None for a 404: Canvas's rules
    (``runtime/static.py``), the single-page-app fallback only when the site has one."""
    found = find(parts, site.files.__contains__)
    return found if found is not None and found in site.files else None


def _no_site(address: SiteAddress) -> str:
    if address.app_id is None:
        return (
            f"no site deployed to {address.environment} of {address.slug} yet: the emulator "
            f"has seen no app whose slug is {address.slug!r}"
        )
    return f"no site deployed to {address.environment} of {address.app_id} yet"
