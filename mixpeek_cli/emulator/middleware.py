"""ASGI middleware in front of every route: record ``/v1`` requests, inject faults.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: the log stream must pass
through untouched, client disconnects included, and the status answered is read from
the response as it starts, however long its body then takes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mixpeek_cli.emulator.errors import error_body
from mixpeek_cli.emulator.models import FaultSpec
from mixpeek_cli.emulator.state import EmulatorState


class RecordAndFault:
    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        body, receive = await _buffer_body(receive)
        request_id = None
        if path.startswith("/v1/"):
            request_id = self.state.record_request(_describe(scope, body))

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start" and request_id is not None:
                self.state.set_request_status(request_id, message["status"])
            await send(message)

        # Faults come before any other handling, auth included.
        fault = self.state.take_fault(scope["method"], path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            await _fault_response(fault)(scope, receive, send_and_record)
            return
        await self.app(scope, receive, send_and_record)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and a ``receive`` that hands it on to the app."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away before sending everything: the app hears of it first.
            pending.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending = pending or [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        # Afterwards the real receive: it reports the client's disconnect.
        return await receive()

    return body, replay


def _describe(scope: Scope, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = None
    request = Request(scope)
    headers = dict(request.headers)
    if "authorization" in headers:
        scheme = headers["authorization"].partition(" ")[0] or "Bearer"
        headers["authorization"] = f"{scheme} ***"
    return {
        "method": request.method,
        "path": request.url.path,
        "query": dict(request.query_params),
        "headers": headers,
        "json": parsed,
        "body": text,
        "status": None,
    }


def _fault_response(fault: FaultSpec) -> Response:
    status = fault.status or 503
    headers = {}
    if fault.retry_after is not None:
        value = fault.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        headers["Retry-After"] = str(value)
    if fault.body is None:
        body = error_body(status, "EmulatedFault", f"fault injected by the emulator ({status})")
        return JSONResponse(body, status, headers=headers)
    if isinstance(fault.body, str):
        media = fault.content_type or "text/plain"
        return Response(fault.body, status, headers=headers, media_type=media)
    return JSONResponse(fault.body, status, headers=headers, media_type=fault.content_type)
