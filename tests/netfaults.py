"""Small purpose-built servers on loopback for faults the emulator cannot produce itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Handler = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serve(handle: Handler) -> Iterator[str]:
    """Serve every request with ``handle`` on a free loopback port; yields the base URL."""

    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handle(self)

        do_POST = do_PUT = do_DELETE = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def forward(request: BaseHTTPRequestHandler, upstream: str) -> httpx.Response:
    """Send ``request`` on to ``upstream`` and return its answer (not yet relayed)."""
    length = int(request.headers.get("Content-Length") or 0)
    body = request.rfile.read(length) if length else b""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    return httpx.request(
        request.command, upstream + request.path, content=body, headers=headers, timeout=30
    )


def relay(request: BaseHTTPRequestHandler, response: httpx.Response) -> None:
    request.send_response(response.status_code)
    for name, value in response.headers.items():
        if name.lower() not in (
            "content-length",
            "transfer-encoding",
            "connection",
            "content-encoding",
        ):
            request.send_header(name, value)
    request.send_header("Content-Length", str(len(response.content)))
    request.end_headers()
    request.wfile.write(response.content)


def drop(request: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer: the client sees the server disconnect."""
    request.close_connection = True


def stall(request: BaseHTTPRequestHandler, release: threading.Event) -> None:
    """Take the request and answer nothing until ``release`` is set (at the test's end:
    the server's shutdown waits for its handler threads)."""
    release.wait(120)
    request.close_connection = True


def answer_json(request: BaseHTTPRequestHandler, status: int, data: object) -> None:
    import json

    body = json.dumps(data).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def read_body(request: BaseHTTPRequestHandler) -> bytes:
    length = int(request.headers.get("Content-Length") or 0)
    return request.rfile.read(length) if length else b""
