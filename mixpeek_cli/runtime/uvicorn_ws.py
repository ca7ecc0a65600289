"""Which of uvicorn's WebSocket implementations the dev server runs on."""

from __future__ import annotations


def websocket_protocol() -> str:
    """``websockets-sansio`` where this uvicorn has it (0.35 and later): it is built on
    websockets' current API; ``auto`` picks the legacy one, which websockets 14 and later
    warn about on import."""
    from uvicorn.config import WS_PROTOCOLS

    return "websockets-sansio" if "websockets-sansio" in WS_PROTOCOLS else "auto"
