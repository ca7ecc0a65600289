"""Serving the deployed sites: ``http://<label>.localhost:<port>/`` on the API's own server.

An ASGI middleware in front of everything else (the ``/v1`` API, its auth, its faults and
its request log): a request whose Host is ``<label>.localhost[:port]`` is answered here,
like a static host answers it, and recorded in ``state.site_requests``; any other request
goes on to the API. For a path, in this order:

* a ``..`` part (after percent-decoding), a backslash or a NUL: 400;
* ``/functions`` and below: 501, the emulator runs no server functions (and the app's
  runtime log gets an ``error`` entry saying so); ``/api`` and below: 501, the ``/api``
  proxy to the Mixpeek API is not emulated (any method);
* a method other than GET or HEAD: 405 with ``Allow: GET, HEAD``;
* no site deployed to that environment of that app: 404, saying so;
* ``/`` is ``index.html``; a file's path is the file; a folder holding ``index.html`` is
  that file; any other path whose last part has no extension is ``index.html`` (the
  single-page-app fallback); any other path is 404.

Content types come from the file extension (below; ``application/octet-stream`` when
unknown). Every HTML answer gets ``window.__MIXPEEK__`` set by a script inserted right
after ``<head>`` (at the very start when there is no head), as the real service does:
the system variables and the app's env vars as they are at that moment, all but
``MIXPEEK_API_KEY`` (it enables the ``/api`` proxy), never a secret. Nothing here is
faulted by ``/_emulator/faults``.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mixpeek_cli.emulator.bundles import INDEX
from mixpeek_cli.emulator.records import iso, utc_now
from mixpeek_cli.emulator.site_store import PublishedSite
from mixpeek_cli.emulator.sites import SiteAddress, resolve_label, site_label
from mixpeek_cli.emulator.state import EmulatorState

# What the injected window.__MIXPEEK__.apiBaseUrl says: the real service proxies it.
API_BASE_URL = "/api"
ALLOWED_METHODS = ("GET", "HEAD")
HTML = "text/html; charset=utf-8"
# Where a Canvas app's server functions live, and what the emulator answers there.
FUNCTIONS = "/functions"
FUNCTION_STATUS = 501
TEXT = "text/plain; charset=utf-8"
# Built-in table only: the machine's /etc/mime.types must not change what is answered.
_MIME = mimetypes.MimeTypes()
# The types a static web host must get right, whatever this Python's table says.
_WEB_TYPES = {
    ".html": HTML,
    ".htm": HTML,
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}
_HEAD_TAG = re.compile(rb"<head(?=[\s>/])[^>]*>", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


def content_type(path: str) -> str:
    """The Content-Type a site answers for a file at ``path``."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _WEB_TYPES:
        return _WEB_TYPES[suffix]
    guessed, encoding = _MIME.guess_type(path, strict=False)
    if encoding is not None:  # "x.tar.gz": the file is the compressed bytes
        return "application/gzip" if encoding == "gzip" else "application/octet-stream"
    if guessed is None:
        return "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def mixpeek_globals_script(
    app_id: str, slug: str, environment: str, env_vars: Mapping[str, str] | None = None
) -> bytes:
    """The ``<script>`` that sets ``window.__MIXPEEK__``, safe inside any HTML: the
    system variables and the app's ``env_vars`` (the system ones win a name they share)."""
    value = json.dumps(
        {
            **(env_vars or {}),
            "apiBaseUrl": API_BASE_URL,
            "appId": app_id,
            "slug": slug,
            "environment": environment,
        }
    )
    # No "<", ">" or "&" can end the script or open a comment; U+2028/9 end JS lines.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        value = value.replace(char, escaped)
    value = value.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"<script>window.__MIXPEEK__ = {value};</script>".encode()


def inject(html: bytes, script: bytes) -> bytes:
    """``html`` with ``script`` right after its ``<head ...>`` tag, else at its start."""
    head = _HEAD_TAG.search(html)
    if head is not None:
        return html[: head.end()] + script + html[head.end() :]
    if html.startswith(_BOM):
        return _BOM + script + html[len(_BOM) :]
    return script + html


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            label = site_label(headers.get("host", ""))
            if label is not None:
                await self._serve(scope, send, label, headers)
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, send: Send, label: str, headers: Headers) -> None:
        started = time.monotonic()
        arrived = utc_now()
        method: str = scope["method"]
        path: str = scope.get("path", "") or "/"
        address = self._address(label)
        answer = self._answer(method, path, address)
        if answer.status == FUNCTION_STATUS and _under(path, FUNCTIONS):
            self._log_function_call(address, method, path)
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
            # Sites change under the same URL with every deploy: always revalidate.
            (b"cache-control", b"no-cache"),
            *((name.encode(), value.encode()) for name, value in answer.headers),
        ]
        # Recorded before anything goes out: whoever has the answer finds the record, and
        # a client that hangs up mid-answer is recorded too.
        self.state.record_site_request(
            {
                "method": method,
                "path": path,
                "status": answer.status,
                "duration_ms": round(1000 * (time.monotonic() - started), 3),
                "user_agent": headers.get("user-agent"),
                "timestamp": iso(arrived),
                "environment": address.environment,
                "app_id": address.app_id,
            }
        )
        start: Message = {
            "type": "http.response.start",
            "status": answer.status,
            "headers": response_headers,
        }
        await send(start)
        # HEAD: the headers a GET gets (Content-Length included), no body.
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else answer.body})

    def _log_function_call(self, address: SiteAddress, method: str, path: str) -> None:
        """What a server function's runtime log would show: it was not run."""
        if address.app_id is None:  # no app to log for
            return
        self.state.add_runtime_log(
            address.app_id,
            "error",
            f"server functions are not run by the emulator ({method} {path} answered "
            f"{FUNCTION_STATUS})",
            route_path=path[len(FUNCTIONS) :].strip("/") or None,
        )

    def _address(self, label: str) -> SiteAddress:
        sites = self.state.sites

        def published_at(app_id: str, environment: str) -> datetime | None:
            site = sites.current(app_id, environment)
            return site.published_at if site else None

        known = [*self.state.app_ids(), *(site.app_id for site in sites.all())]
        return resolve_label(label, known, published_at, self.state.slug_of)

    def _answer(self, method: str, path: str, address: SiteAddress) -> _Answer:
        parts = path.split("/")
        if ".." in parts or "\\" in path or "\x00" in path:
            return _text(400, f"bad path {path!r}: it would leave the site root")
        if _under(path, FUNCTIONS):
            return _text(
                FUNCTION_STATUS,
                f"{path} is a server function: the emulator does not run server functions "
                "(they run on Mixpeek)",
            )
        if _under(path, "/api"):
            return _text(
                501,
                f"{path} goes to the /api proxy to the Mixpeek API, which the emulator does "
                "not emulate: call the API directly",
            )
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
        found = _find(site, [part for part in parts if part not in ("", ".")])
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


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _find(site: PublishedSite, parts: list[str]) -> str | None:
    """The file that answers a path (its parts), or None for a 404."""
    wanted = "/".join(parts)
    if not wanted:
        return INDEX
    if wanted in site.files:
        return wanted
    if f"{wanted}/{INDEX}" in site.files:
        return f"{wanted}/{INDEX}"
    # Single-page-app fallback: "/settings/profile" is a client-side route, "/x.png" a file.
    if not PurePosixPath(parts[-1]).suffix:
        return INDEX
    return None


def _no_site(address: SiteAddress) -> str:
    if address.app_id is None:
        return (
            f"no site deployed to {address.environment} of {address.slug} yet: the emulator "
            f"has seen no app whose slug is {address.slug!r}"
        )
    return f"no site deployed to {address.environment} of {address.app_id} yet"
