"""``Idempotency-Key`` on the POSTs that create something, as Stripe does it.

The first successful (2xx) answer to a POST carrying a key is stored; the same key with the
same method, path and body (compared after validation, so key order and spelled-out
defaults do not matter) gets that stored answer again and creates nothing; the same key
with anything else gets a 422 ``IdempotencyError``. Failed requests are not stored, so a
retry after an error is handled afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from mixpeek_cli.emulator.errors import ApiError
from mixpeek_cli.emulator.state import EmulatorState, IdempotencyConflict, StoredAnswer


def idempotent(
    state: EmulatorState,
    request: Request,
    key: str | None,
    body: dict[str, Any],
    produce: Callable[[], dict[str, Any]],
) -> JSONResponse:
    """``produce()``'s answer, or the one stored under ``key`` for this same request."""
    if key is None:
        return JSONResponse(produce())
    fingerprint = state.fingerprint(request.method, request.url.path, body)
    # One idempotent request at a time, so concurrent retries of a key cannot both produce.
    with state.idempotency_lock:
        try:
            stored = state.stored_answer(key, fingerprint)
        except IdempotencyConflict as exc:
            raise ApiError(
                422,
                "IdempotencyError",
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with",
            ) from exc
        if stored is None:
            stored = StoredAnswer(fingerprint, 200, produce())
            state.store_answer(key, stored)
    return JSONResponse(stored.body, stored.status_code)
