"""Streaming a turn only while its client listens.

A turn is a sync generator; Starlette would iterate it in the threadpool and, once the client is
gone, simply stop asking for more, leaving it open (an LLM stream still running upstream) until
garbage collection. Here the disconnect is heard as it happens and the generator is closed as soon as
the step running right now returns.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import closing, nullcontext
from typing import AsyncIterator, Iterator

import anyio.from_thread
from fastapi import Request
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)
_END = object()


async def while_connected(request: Request, chunks: Iterator[str]) -> AsyncIterator[str]:
    """The items of `chunks` (a sync generator), produced in ONE worker thread and handed over as they come,
    until the client disconnects.

    One thread for the whole turn, not a threadpool round trip per item: each round trip waits for a free
    worker and for the event loop, which under load made a streamed turn several times slower than the
    same turn as JSON. The generator is only ever advanced and closed by that thread."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue = asyncio.Queue()
    gone = threading.Event()

    def hand_over(item) -> None:
        loop.call_soon_threadsafe(ready.put_nowait, item)

    def produce() -> None:
        try:
            with closing_generator(chunks):
                for item in chunks:
                    if gone.is_set():  # the client left while this item was made: nobody will ask for more
                        return
                    hand_over(item)
        except BaseException as exc:  # raised where the consumer awaits, as a step in the loop would be
            hand_over(_Failed(exc))
        finally:
            hand_over(_END)

    listener = asyncio.ensure_future(_listen(request, gone))
    producer = asyncio.ensure_future(run_in_threadpool(produce))
    try:
        while not gone.is_set():
            item = await ready.get()
            if item is _END:
                break
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        gone.set()  # the producer stops at its next item and closes the generator itself
        listener.cancel()
        producer.add_done_callback(_log_failure)


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def closing_generator(chunks: Iterator):
    """`closing` for generators; a plain iterator has nothing to close."""
    return closing(chunks) if hasattr(chunks, "close") else nullcontext()


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("streaming worker failed", exc_info=task.exception())


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
