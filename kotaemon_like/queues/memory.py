"""In-process job queue for the embedded mode: same semantics as the Redis Stream, within one process."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from typing import ContextManager

from pydantic import BaseModel, ConfigDict, Field

from .. import metrics
from .base import Delivery, Job, next_attempt

log = logging.getLogger(__name__)


class InProcessQueue:
    """A deque plus a pending table; jobs of a consumer thread that stopped are reclaimed after `claim_idle_s`."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_attempts: int = Field(3, gt=0)
        backoff_s: float = Field(1.0, ge=0)
        claim_idle_s: float = Field(60.0, gt=0)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._ready: deque[Delivery] = deque()
        self._pending: OrderedDict[str, tuple[Delivery, float]] = OrderedDict()
        self._dead: list[Job] = []
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._locks: dict[str, threading.Lock] = {}

    def publish(self, job: Job) -> str:
        with self._cond:
            delivery = Delivery(str(next(self._ids)), job)
            self._ready.append(delivery)
            self._cond.notify()
        metrics.INGEST_JOBS_QUEUED.labels(job.action).inc()
        return delivery.id

    def receive(self, consumer: str, count: int = 1, block_s: float = 1.0) -> list[Delivery]:
        deadline = time.monotonic() + block_s
        with self._cond:
            while True:
                now = time.monotonic()
                stale = [d for d, seen in self._pending.values() if now - seen > self.params.claim_idle_s][:count]
                taken = stale + [self._ready.popleft() for _ in range(min(count - len(stale), len(self._ready)))]
                if taken or now >= deadline:
                    for delivery in taken:
                        self._pending[delivery.id] = (delivery, now)
                    return taken
                self._cond.wait(deadline - now)

    def ack(self, delivery: Delivery) -> None:
        with self._cond:
            self._pending.pop(delivery.id, None)

    def touch(self, delivery: Delivery, consumer: str) -> None:
        with self._cond:
            if delivery.id in self._pending:
                self._pending[delivery.id] = (delivery, time.monotonic())

    def fail(self, delivery: Delivery, error: str) -> bool:
        metrics.INGEST_JOBS_FAILED.inc()
        retry = next_attempt(delivery.job, error, self.params.max_attempts, self.params.backoff_s)
        with self._cond:
            self._pending.pop(delivery.id, None)
            if retry is None:
                self._dead.append(Job(**{**delivery.job.__dict__, "error": error}))
            else:
                self._ready.append(Delivery(str(next(self._ids)), retry))
                self._cond.notify()
        if retry is None:
            metrics.INGEST_DEAD_LETTERS.inc()
            log.warning("ingest job dead-lettered after %d attempts: %s", self.params.max_attempts, error,
                        extra={"source": delivery.job.source})
        return retry is not None

    def depth(self) -> int:
        with self._cond:
            return len(self._ready)

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def dead_letters(self, count: int = 100) -> list[Job]:
        with self._cond:
            return self._dead[-count:]

    def lock(self, name: str) -> ContextManager:
        with self._cond:
            return self._locks.setdefault(name, threading.Lock())

    def incarnation(self) -> str:
        return "in-process"  # lives and dies with the process: nothing queued can be lost behind our back

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release."""
