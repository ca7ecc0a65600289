"""moto's S3 server on a loopback thread, behind a gate that checks presigned URLs as S3 does.

moto stores and serves objects faithfully but checks neither a presigned URL's signature
nor its expiry. The gate answers what S3 answers before moto sees the request: 403
``AccessDenied`` "Request has expired" once ``X-Amz-Date`` + ``X-Amz-Expires`` has passed;
403 ``SignatureDoesNotMatch`` when a URL the emulator signed with one Content-Type comes
with another; and, for URLs the emulator was told to break (``expired_urls`` /
``bad_signature_urls``), the same two refusals however fresh they are.

It also records every request that reaches the server (signatures masked), so tests see
the S3 calls in one sequence with the API calls.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, parse_qsl
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MASKED_QUERY = ("X-Amz-Signature", "X-Amz-Credential")


class GateHooks(Protocol):
    """What the gate asks of the emulator's state (``EmulatorState`` is one)."""

    def url_rejection(self, signature: str, content_type: str | None) -> str | None: ...

    def record_s3_request(self, entry: dict[str, Any]) -> int: ...

    def set_request_status(self, request_id: int, status: int) -> None: ...


# The hooks once the emulator's state exists; None before (moto starts first).
HooksSource = Callable[[], "GateHooks | None"]

_ERRORS = {
    "expired": ("AccessDenied", "Request has expired"),
    "signature": (
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
}


class PresignedGate:
    """WSGI middleware: record each request, refuse expired or mis-signed presigned ones."""

    def __init__(self, app: WSGIApplication, hooks: HooksSource) -> None:
        self._app = app
        self._hooks = hooks

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        hooks = self._hooks()
        if hooks is None:
            return self._app(environ, start_response)
        request_id = hooks.record_s3_request(_describe(environ))

        def start_and_record(status: str, headers: Any, exc_info: Any = None) -> Any:
            hooks.set_request_status(request_id, int(status.split()[0]))
            return start_response(status, headers, exc_info)

        query = parse_qs(environ.get("QUERY_STRING", ""))
        signature = (query.get("X-Amz-Signature") or [""])[0]
        reason = None
        if signature:
            content_type = environ.get("CONTENT_TYPE") or None
            reason = hooks.url_rejection(signature, content_type) or _expiry(query)
        if reason is None:
            return self._app(environ, start_and_record)
        # Read the body first, as S3 does, so the client sees the answer, not a reset.
        _drain(environ)
        code, message = _ERRORS[reason]
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code>"
            f"<Message>{escape(message)}</Message>"
            f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
        ).encode()
        start_and_record(
            "403 Forbidden",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _describe(environ: WSGIEnvironment) -> dict[str, Any]:
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    for name in MASKED_QUERY:
        if name in query:
            query[name] = "***"
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    if "authorization" in headers:
        headers["authorization"] = f"{headers['authorization'].partition(' ')[0]} ***"
    try:
        length: int | None = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = None
    # WSGI hands the path over as latin-1; S3 keys are UTF-8.
    path = str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")
    return {
        "method": environ.get("REQUEST_METHOD", ""),
        "path": path,
        "query": query,
        "headers": headers,
        "content_length": length,
        "status": None,
    }


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

    def __init__(self, host: str, port: int, hooks: HooksSource) -> None:
        self._host = host
        self._port = port
        self._hooks = hooks
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = PresignedGate(DomainDispatcherApplication(create_backend_app), self._hooks)
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
