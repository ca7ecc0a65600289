"""``/api/*`` and ``/_api/*``: forwarded to the Mixpeek API with the key added, as Canvas's
proxy does, so a page calls the API without ever holding the key.

``/api/v1/collections`` goes to ``<base URL>/v1/collections`` with ``Authorization:
Bearer <key>`` and, when a namespace is set, ``X-Namespace``; whatever the browser sent
in those headers, its cookies, Origin and Referer stay here [assumed: Canvas's proxy is
server-side and its docs name only the two it adds]. The answer comes back as the API
gave it (streamed, status and headers kept, but the hop-by-hop ones and Set-Cookie), and
any occurrence of the key in it, body or headers, is masked with as many ``*``: the key
reaches no byte the browser receives, not even an API error that quoted it back.
Without a key the answer is 401 (the emulator: 403, the proxy not enabled), under
``--offline`` 503, and 502 when the API cannot be reached; none of those bodies holds
the key either.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from mixpeek_cli.runtime.asgi import (
    HOP_BY_HOP,
    Receive,
    Scope,
    Send,
    answer,
    read_body,
    request_headers,
    target,
)
from mixpeek_cli.runtime.asgi import stream as stream_answer

# Stay with the browser: credentials of this origin, and what says where a call came from.
_NOT_FORWARDED = (
    "host",
    "authorization",
    "x-namespace",
    "cookie",
    "origin",
    "referer",
    "content-length",
    "accept-encoding",
)
_NOT_RETURNED = frozenset({"set-cookie", "content-encoding"})


# What a request without a key to add is told (401), under mixpeek dev.
NO_KEY = (
    "mixpeek dev has no API key to add: set MIXPEEK_API_KEY, pass --api-key, or run "
    "mixpeek login, then restart it"
)


@dataclass(frozen=True)
class ApiTarget:
    base_url: str
    api_key: str | None
    namespace: str | None
    offline: bool = False
    no_key: str = NO_KEY
    no_key_status: int = 401


async def forward(
    api: ApiTarget, client: httpx.AsyncClient, scope: Scope, receive: Receive, send: Send
) -> int:
    """Answer one ``/api`` or ``/_api`` request; its status."""
    method = scope["method"]
    prefix = 5 if scope["path"].startswith("/_api") else 4
    if api.offline:
        return await _refuse(send, 503, "mixpeek dev --offline: /api is not forwarded")
    if not api.api_key:
        return await _refuse(send, api.no_key_status, api.no_key)
    body = await read_body(receive)
    headers = request_headers(scope, _NOT_FORWARDED)
    headers.append(("authorization", f"Bearer {api.api_key}"))
    headers.append(("accept-encoding", "identity"))  # plain bytes: the key is masked in them
    if api.namespace:
        headers.append(("x-namespace", api.namespace))
    url = api.base_url + target(scope, cut=prefix)
    secret = api.api_key.encode()
    try:
        request = client.build_request(method, url, headers=headers, content=body)
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        reason = _mask(f"{type(exc).__name__}: {exc}".encode(), secret).decode()
        return await _refuse(
            send, 502, f"cannot reach the Mixpeek API at {api.base_url} ({reason})"
        )
    try:
        returned = [
            (name.decode("latin-1").lower(), _mask(value, secret).decode("latin-1"))
            for name, value in response.headers.raw
        ]
        # The body goes out decoded (aiter_bytes): a length of encoded bytes would lie.
        encoded = any(name == "content-encoding" for name, _ in returned)
        drop = _NOT_RETURNED | HOP_BY_HOP | ({"content-length"} if encoded else set())
        returned = [(name, value) for name, value in returned if name not in drop]
        await stream_answer(
            send,
            response.status_code,
            returned,
            _masked(response.aiter_bytes(), secret),
            head=method == "HEAD",
        )
    finally:
        await response.aclose()
    return response.status_code


async def _refuse(send: Send, status: int, message: str) -> int:
    body = json.dumps({"error": message}).encode()
    await answer(send, status, body, [("content-type", "application/json")])
    return status


def _mask(data: bytes, secret: bytes) -> bytes:
    return data.replace(secret, b"*" * len(secret)) if secret else data


async def _masked(chunks: AsyncIterator[bytes], secret: bytes) -> AsyncIterator[bytes]:
    """``chunks`` with ``secret`` masked, also where it spans two of them: the last
    ``len(secret) - 1`` bytes wait for the next chunk (the same length out as in)."""
    keep = len(secret) - 1
    pending = b""
    async for chunk in chunks:
        data = _mask(pending + chunk, secret)
        if keep and len(data) > keep:
            pending, data = data[-keep:], data[:-keep]
        elif keep:
            pending, data = data, b""
        if data:
            yield data
    if pending:
        yield pending
