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


def sse_response(events: Iterator | AsyncIterator) -> EventSourceResponse:
    """A streaming response of typed events (dataclasses with a `type` field) or ready ServerSentEvents."""
    if hasattr(events, "__aiter__"):
        async def items():
            async for e in events:
                yield e if isinstance(e, ServerSentEvent) else sse_event(e)

        content = items()
    else:
        content = (e if isinstance(e, ServerSentEvent) else sse_event(e) for e in events)
    return EventSourceResponse(content, ping=PING_S, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
