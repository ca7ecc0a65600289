"""The little of ASGI the dev server needs: reading a request, writing an answer."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Iterable, MutableMapping
from typing import Any

from mixpeek_cli.runtime.functions import FunctionRequest

# Hop-by-hop headers (RFC 9110 7.6.1) end at each hop: a proxy never passes them on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

Scope = MutableMapping[str, Any]
Receive = Any
Send = Any


def header(scope: Scope, name: str) -> str | None:
    """A request header's value (the first), by lower-case name."""
    wanted = name.encode("latin-1")
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def request_headers(scope: Scope, drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The request's headers (lower-case names) but the hop-by-hop ones and ``drop``."""
    dropped = HOP_BY_HOP | set(drop)
    headers = []
    for key, value in scope.get("headers", []):
        name = bytes(key).decode("latin-1").lower()
        if name not in dropped:
            headers.append((name, bytes(value).decode("latin-1")))
    return headers


def target(scope: Scope, cut: int = 0) -> str:
    """The request's path (as sent, ``cut`` bytes taken off its start) and query."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    path = raw[cut:].decode("latin-1") or "/"
    return f"{path}?{query.decode('latin-1')}" if query else path


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def answer(
    send: Send,
    status: int,
    body: bytes,
    headers: Iterable[tuple[str, str]] = (),
    *,
    head: bool = False,
) -> None:
    """A whole answer; ``head``: the headers a GET gets, no body."""
    raw = [_pair(k, v) for k, v in headers if k != "content-length"]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def stream(
    send: Send,
    status: int,
    headers: Iterable[tuple[str, str]],
    chunks: AsyncIterator[bytes],
    *,
    head: bool = False,
) -> None:
    """An answer whose body arrives in ``chunks``."""
    raw = [_pair(k, v) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    if not head:
        async for chunk in chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def text_answer(message: str) -> tuple[bytes, list[tuple[str, str]]]:
    return (message + "\n").encode("utf-8"), [("content-type", "text/plain; charset=utf-8")]


def _pair(name: str, value: str) -> tuple[bytes, bytes]:
    # A header holds Latin-1 only: anything else a handler put there shows as "?".
    return name.encode("latin-1", "replace"), value.encode("latin-1", "replace")


def function_request(scope: Scope, body: bytes) -> FunctionRequest:
    """``ctx.req`` of an ASGI request: one value per query name (the last, as
    ``Object.fromEntries(new URLSearchParams(...))`` gives), header names lower-case
    (repeated ones joined with ", ")."""
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = bytes(raw_name).decode("latin-1").lower()
        value = bytes(raw_value).decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return FunctionRequest(scope["method"], scope["path"], query, headers, body)
