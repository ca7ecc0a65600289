"""Everything that is not Canvas's goes to the app's dev server: HTTP and WebSocket.

HTTP: the request as the browser sent it (its Host too, so the dev server builds links
for the address the browser uses), but the hop-by-hop headers, with ``Accept-Encoding:
identity`` (a page must be plain to get ``window.__MIXPEEK__``) and ``X-Forwarded-*``.
The answer streams back as it comes (hot-reload event streams included), but an HTML
page, which is read whole and gets the script. WebSocket (hot reload: Vite's
``vite-hmr``, Next.js's ``/_next/webpack-hmr``): the upgrade is opened to the dev server
with the same path, subprotocols and headers, accepted with the subprotocol it chose,
and every message is passed on both ways until either side closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx

from mixpeek_cli.runtime.asgi import (
    HOP_BY_HOP,
    Receive,
    Scope,
    Send,
    answer,
    header,
    read_body,
    request_headers,
    stream,
    target,
    text_answer,
)
from mixpeek_cli.runtime.page import is_html

_REPLACED = ("accept-encoding", "content-length")
# The WebSocket handshake is made anew upstream: its own headers are not copied.
_HANDSHAKE = (
    "host",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "sec-websocket-accept",
)
# Close codes that may not be sent in a close frame (RFC 6455 7.4.1): sent as 1000.
_RESERVED_CLOSE = frozenset({1005, 1006, 1015})


class Upstream:
    """The dev server at ``host:port`` (host "127.0.0.1" or "::1")."""

    def __init__(self, host: str, port: int) -> None:
        self.authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def http(
        self,
        client: httpx.AsyncClient,
        inject: Callable[[bytes], bytes],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> int:
        """Answer one request from the dev server; ``inject`` makes a page Canvas's."""
        method = scope["method"]
        body = await read_body(receive)
        headers = request_headers(scope, _REPLACED)
        headers.append(("accept-encoding", "identity"))
        client_host = (scope.get("client") or ("127.0.0.1", 0))[0]
        headers += [
            ("x-forwarded-for", client_host),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", header(scope, "host") or ""),
        ]
        url = f"http://{self.authority}{target(scope)}"
        try:
            request = client.build_request(method, url, headers=headers, content=body)
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            text, kind = text_answer(
                f"the dev command's server at {self.authority} did not answer: "
                f"{type(exc).__name__}: {exc}"
            )
            await answer(send, 502, text, kind)
            return 502
        try:
            returned = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in response.headers.raw
            ]
            returned = [(name, value) for name, value in returned if name not in HOP_BY_HOP]
            head = method == "HEAD"
            if is_html(response.headers.get("content-type")) and not head:
                page = inject(await response.aread())  # decoded, whatever it was sent as
                kept = [
                    (k, v) for k, v in returned if k not in ("content-encoding", "content-length")
                ]
                await answer(send, response.status_code, page, kept)
            else:
                await stream(send, response.status_code, returned, response.aiter_raw(), head=head)
        finally:
            await response.aclose()
        return response.status_code

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        first = await receive()
        if first["type"] != "websocket.connect":
            return
        offered = [p.strip() for p in (header(scope, "sec-websocket-protocol") or "").split(",")]
        headers = request_headers(scope, _HANDSHAKE)
        uri = f"ws://{self.authority}{target(scope)}"
        try:
            upstream = await connect(
                uri,
                subprotocols=[p for p in offered if p] or None,  # type: ignore[misc]
                additional_headers=headers,
                compression=None,
                max_size=None,
                ping_interval=None,
                open_timeout=10,
            )
        except (OSError, InvalidHandshake, InvalidURI, asyncio.TimeoutError):
            await send({"type": "websocket.close", "code": 1011})
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

        async def browser_to_server() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    await upstream.close(_close_code(message.get("code")))
                    return
                if message.get("text") is not None:
                    await upstream.send(message["text"])
                elif message.get("bytes") is not None:
                    await upstream.send(message["bytes"])

        async def server_to_browser() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for data in upstream:
                    kind = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", kind: data})
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": _close_code(upstream.close_code)})

        tasks = [
            asyncio.ensure_future(browser_to_server()),
            asyncio.ensure_future(server_to_browser()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)
            await upstream.close()


def _close_code(code: object) -> int:
    if not isinstance(code, int) or code in _RESERVED_CLOSE or not 1000 <= code <= 4999:
        return 1000
    return code
