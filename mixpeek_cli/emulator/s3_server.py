"""moto's S3 server on a loopback thread, behind a gate that checks presigned URLs as S3 does.

moto stores and serves objects faithfully but ignores a presigned URL's expiry. The gate
answers what S3 answers before moto sees the request: 403 ``AccessDenied`` "Request has
expired" once ``X-Amz-Date`` + ``X-Amz-Expires`` has passed, and, for URLs the emulator
was told to break (``expired_urls`` / ``bad_signature_urls``), 403 "Request has expired"
or 403 ``SignatureDoesNotMatch`` however fresh they are.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The reason the emulator broke a URL, keyed by its X-Amz-Signature; None: not broken.
Verdict = Callable[[str], "str | None"]

_ERRORS = {
    "expired": ("AccessDenied", "Request has expired"),
    "signature": (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
}


class PresignedGate:
    """WSGI middleware: refuse expired or deliberately broken presigned requests."""

    def __init__(self, app: WSGIApplication, verdict: Verdict) -> None:
        self._app = app
        self._verdict = verdict

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        signature = (query.get("X-Amz-Signature") or [""])[0]
        reason = (self._verdict(signature) or _expiry(query)) if signature else None
        if reason is None:
            return self._app(environ, start_response)
        # Read the body first, as S3 does, so the client sees the answer, not a reset.
        _drain(environ)
        code, message = _ERRORS[reason]
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code>"
            f"<Message>{escape(message)}</Message>"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
        ).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _expiry(query: dict[str, list[str]]) -> str | None:
    try:
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
        seconds = int(query["X-Amz-Expires"][0])
    except (KeyError, ValueError):
        return None
    expires = signed.replace(tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return "expired" if datetime.now(timezone.utc) > expires else None


def _drain(environ: WSGIEnvironment) -> None:
    stream: Any = environ.get("wsgi.input")
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        remaining = 0
    while stream is not None and remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        remaining -= len(chunk)


class GatedMotoServer:
    """Like moto's ThreadedMotoServer, with :class:`PresignedGate` in front."""

    def __init__(self, host: str, port: int, verdict: Verdict) -> None:
        self._host = host
        self._port = port
        self._verdict = verdict
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = PresignedGate(DomainDispatcherApplication(create_backend_app), self._verdict)
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mixpeek-emulator-s3", daemon=True
        )
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
