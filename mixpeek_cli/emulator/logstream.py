"""``GET .../logs/stream``: the build log as Server-Sent Events, as the published stream sends it.

Every line so far first (catch-up), then each new line as the build stores it, then
``event: done`` once the deploy is final and every line went out. No event ids and no
offset: a reconnect replays the whole log, so clients must skip what they already showed.
The test controls ``stream_cut_after`` / ``stream_stall_after`` break streams on purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse

from mixpeek_cli.emulator.errors import not_found
from mixpeek_cli.emulator.state import EmulatorState

# How soon a stream notices a new line, the final status or shutdown.
POLL_SECONDS = 0.02


def log_stream(state: EmulatorState, app_id: str, deploy_id: str) -> EventSourceResponse:
    config = state.config
    if not config.stream_enabled:
        raise not_found("Build log stream")
    if state.log_since(app_id, deploy_id, 0) is None:
        raise not_found(f"Deploy {deploy_id}")
    # Read once: a stalled connection stays stalled, as a real one would.
    events = _events(state, app_id, deploy_id, config.stream_stall_after)
    return EventSourceResponse(events)


async def _events(
    state: EmulatorState, app_id: str, deploy_id: str, stall_after: int | None
) -> AsyncIterator[ServerSentEvent]:
    sent = 0
    # Ending on stopping lets uvicorn shut down at once instead of waiting on open streams.
    while not state.stopping.is_set():
        if state.take_stream_cut(sent):
            return
        if stall_after is None or sent < stall_after:
            lines, final = state.log_since(app_id, deploy_id, sent) or ([], True)
            if lines:
                entry = lines[0]
                yield ServerSentEvent(data=json.dumps({"ts": entry.ts, "line": entry.line}))
                sent += 1
                continue
            if final:
                # Same snapshot as the (empty) rest of the log: nothing can be missed.
                yield ServerSentEvent(data="{}", event="done")
                return
        await asyncio.sleep(POLL_SECONDS)
