"""ASGI middleware in front of every route: record ``/v1`` requests, inject faults.

A record gets its answer's ``status`` as the answer starts and, once it is whole, its
``response`` (the JSON body; None for any other content, the log stream's included) and
``fault`` (true when a ``/_emulator/faults`` entry made the answer, not the API). Each
finished exchange is handed to ``state.EXCHANGE_OBSERVERS`` (test instrumentation).

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``: the log stream must pass
through untouched, client disconnects included, and the status answered is read from
the response as it starts, however long its body then takes.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mixpeek_cli.emulator.errors import error_body
from mixpeek_cli.emulator.models import FaultSpec
from mixpeek_cli.emulator.state import EXCHANGE_OBSERVERS, EmulatorState


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
        record: dict[str, Any] | None = None
        if path.startswith("/v1/"):
            record = _describe(scope, body)
            request_id = self.state.record_request(record)
        # Faults come before any other handling, auth included.
        fault = self.state.take_fault(scope["method"], path)
        answered = _Answer()

        async def send_and_record(message: Message) -> None:
            if request_id is not None:
                answered.take(message)
                if message["type"] == "http.response.start":
                    self.state.set_request_status(request_id, message["status"])
                elif answered.done:
                    faulted = fault is not None and fault.status is not None
                    response = answered.json()
                    self.state.set_request_response(request_id, response, faulted)
                    if record is not None:
                        finished = {**record, "id": request_id, "status": answered.status}
                        notify({**finished, "response": response, "fault": faulted})
            await send(message)

        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            await _fault_response(fault)(scope, receive, send_and_record)
            return
        await self.app(scope, receive, send_and_record)


class _Answer:
    """What an answer sent: its status, and its body while that may be JSON."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.is_json = False
        self.chunks: list[bytes] = []
        self.done = False

    def take(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = dict(message.get("headers", []))
            media = headers.get(b"content-type", b"").split(b";")[0].strip()
            self.is_json = media == b"application/json"
        elif message["type"] == "http.response.body":
            if self.is_json:
                self.chunks.append(message.get("body", b""))
            self.done = not message.get("more_body", False)

    def json(self) -> Any:
        if not self.is_json:
            return None
        try:
            return json.loads(b"".join(self.chunks))
        except ValueError:
            return None


def notify(exchange: dict[str, Any]) -> None:
    for observer in list(EXCHANGE_OBSERVERS):
        observer(copy.deepcopy(exchange))


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
        "response": None,
        "fault": False,
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
