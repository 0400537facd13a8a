"""Streaming a turn only while its client listens.

A turn is a sync generator; Starlette would iterate it in the threadpool and, once the client is
gone, simply stop asking for more, leaving it open (an LLM stream still running upstream) until
garbage collection. Here the disconnect is heard as it happens and the generator is closed at once
(or, if a step is running in a thread right now, as soon as that step returns).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import closing
from typing import AsyncIterator, Iterator

import anyio.from_thread
from fastapi import Request
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)
_END = object()


async def while_connected(request: Request, chunks: Iterator[str]) -> AsyncIterator[str]:
    """The items of `chunks` (a sync generator), each produced in a worker thread, until the client disconnects."""
    gone, busy = threading.Event(), threading.Lock()

    def close() -> None:
        close_generator = getattr(chunks, "close", None)
        if close_generator is not None:
            close_generator()

    def step():
        with busy:
            if gone.is_set():
                close()
                return _END
            item = next(chunks, _END)
            if gone.is_set():  # the client left while this step ran: nobody will ask for more
                close()
                return _END
            return item

    listener = asyncio.ensure_future(_listen(request, gone))
    try:
        while not gone.is_set():
            item = await run_in_threadpool(step)
            if item is _END:
                break
            yield item
    finally:
        gone.set()
        listener.cancel()
        if busy.acquire(blocking=False):  # no step running: close here; else the running step closes it
            try:
                close()
            finally:
                busy.release()


def events_while_connected(request: Request, events: Iterator) -> Iterator:
    """For a sync endpoint (run in a worker thread): the turn's events until the client disconnects, then
    the turn is closed, so a JSON answer nobody waits for is not generated to the end."""
    gone = threading.Event()

    async def start() -> asyncio.Future:
        return asyncio.ensure_future(_listen(request, gone))

    listener = anyio.from_thread.run(start)
    try:
        with closing(events):
            for event in events:
                if gone.is_set():
                    return
                yield event
    finally:
        anyio.from_thread.run_sync(listener.cancel)


async def _listen(request: Request, gone: threading.Event) -> None:
    """Set `gone` when the client disconnects (the request body is already read: nothing else arrives)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()
    log.info("client disconnected; turn stopped", extra={"request_id": getattr(request.state, "request_id", "")})
