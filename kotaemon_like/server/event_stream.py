"""Server-Sent Events through sse-starlette: typed events become `event: <type>` + JSON data, with keep-alive pings."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, AsyncIterator, Iterator

from sse_starlette import EventSourceResponse, ServerSentEvent

PING_S = 15  # a comment line this often keeps proxies from closing a quiet stream


def sse_event(event: Any, event_id: int | str | None = None) -> ServerSentEvent:
    data = dataclasses.asdict(event) if dataclasses.is_dataclass(event) else dict(event)
    return ServerSentEvent(json.dumps(data, ensure_ascii=False), event=data.get("type", "message"),
                           id=None if event_id is None else str(event_id))


def sse_response(events: Iterator | AsyncIterator, ping_s: float = PING_S, grace_s: float = 0.0,
                 headers: dict[str, str] | None = None) -> EventSourceResponse:
    """A streaming response of typed events (dataclasses with a `type` field) or ready ServerSentEvents.

    `grace_s` (the server's shutdown grace): on SIGTERM a stream gets a second less than that to end by itself
    before it is cut, so an answer in flight finishes and the server still stops in time."""
    if hasattr(events, "__aiter__"):
        async def items():
            async for e in events:
                yield e if isinstance(e, ServerSentEvent) else sse_event(e)

        content = items()
    else:
        content = (e if isinstance(e, ServerSentEvent) else sse_event(e) for e in events)
    return EventSourceResponse(content, ping=ping_s, shutdown_grace_period=max(0.0, grace_s - 1.0),
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})
