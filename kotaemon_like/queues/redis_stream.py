"""Redis Stream job queue: consumer group, ack after commit, reclaim from dead workers, dead letters."""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from typing import ContextManager

import redis
from pydantic import BaseModel, ConfigDict, Field

from .. import metrics
from ..logs import redact
from .base import Delivery, Job, QueueUnavailable, next_attempt

log = logging.getLogger(__name__)
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _unavailable(method):
    """Turn a lost connection into one clear QueueUnavailable naming the server (password masked)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _DOWN as exc:
            raise QueueUnavailable(
                f"Redis at {redact(self.params.url)} is unreachable ({redact(str(exc))}); is the redis service up?"
            ) from None

    return wrapper


def _regrouping(method):
    """Redis lost the stream and its group (restarted without persistence): make them again, run once more."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._regroup()
            return method(self, *args, **kwargs)

    return wrapper


class RedisStreamQueue:
    """XADD to a stream; workers XREADGROUP in one group, XACK (and XDEL) after the index is committed.

    A worker that dies leaves its entries pending; after `claim_idle_s` another worker takes them over
    with XAUTOCLAIM. A failing job is re-added with a backoff until `max_attempts`, then moved to the
    dead-letter stream with its error.
    """

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str = "redis://localhost:6379/0"
        stream: str = "kl:ingest"
        group: str = "indexers"
        dead_letter_stream: str = "kl:ingest:dead"
        max_attempts: int = Field(3, gt=0)
        backoff_s: float = Field(1.0, ge=0)
        claim_idle_s: float = Field(30.0, gt=0)
        max_length: int = Field(100_000, gt=0)

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()
        self._client = redis.Redis.from_url(
            self.params.url, decode_responses=True, socket_connect_timeout=2, socket_timeout=15,
            health_check_interval=10,
        )
        self._group_ready = False

    @property
    def _incarnation_key(self) -> str:
        return f"{self.params.stream}:incarnation"

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._client.xgroup_create(self.params.stream, self.params.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            self._client.set(self._incarnation_key, uuid.uuid4().hex, nx=True)
        else:  # the group is new: whatever was queued before (if anything) is gone
            self._client.set(self._incarnation_key, uuid.uuid4().hex)
        self._group_ready = True

    def _regroup(self) -> None:
        log.warning("ingest stream %s or its group vanished (Redis restarted without its data?); recreating it",
                    self.params.stream)
        self._group_ready = False
        self._ensure_group()

    def _execute(self, pipe) -> None:
        """Run a MULTI/EXEC of group writes; the other commands of it ran even if the group was gone."""
        try:
            pipe.execute()
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._regroup()

    @_unavailable
    def incarnation(self) -> str:
        """A token that changes whenever queued jobs may have been lost (the stream or its group was made anew)."""
        if not self._client.exists(self.params.stream):
            self._group_ready = False
        self._ensure_group()
        return str(self._client.get(self._incarnation_key))

    @_unavailable
    def publish(self, job: Job) -> str:
        entry = self._client.xadd(self.params.stream, job.to_fields(), maxlen=self.params.max_length, approximate=True)
        metrics.INGEST_JOBS_QUEUED.labels(job.action).inc()
        return entry

    @_unavailable
    @_regrouping
    def receive(self, consumer: str, count: int = 1, block_s: float = 1.0) -> list[Delivery]:
        self._ensure_group()
        claimed = self._client.xautoclaim(
            self.params.stream, self.params.group, consumer,
            min_idle_time=int(self.params.claim_idle_s * 1000), start_id="0-0", count=count,
        )
        entries = [e for e in claimed[1] if e and e[1]]
        if entries:
            log.warning("reclaimed %d ingest job(s) from a worker that stopped", len(entries), extra={"consumer": consumer})
        else:
            response = self._client.xreadgroup(
                self.params.group, consumer, {self.params.stream: ">"}, count=count, block=int(block_s * 1000)
            )
            entries = [e for _, stream_entries in response or [] for e in stream_entries]
        return [Delivery(entry_id, Job.from_fields(fields)) for entry_id, fields in entries]

    @_unavailable
    def ack(self, delivery: Delivery) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.xack(self.params.stream, self.params.group, delivery.id)
        pipe.xdel(self.params.stream, delivery.id)
        self._execute(pipe)

    @_unavailable
    @_regrouping
    def touch(self, delivery: Delivery, consumer: str) -> None:
        self._client.xclaim(self.params.stream, self.params.group, consumer, 0, [delivery.id], justid=True)

    @_unavailable
    def fail(self, delivery: Delivery, error: str) -> bool:
        metrics.INGEST_JOBS_FAILED.inc()
        retry = next_attempt(delivery.job, error, self.params.max_attempts, self.params.backoff_s)
        pipe = self._client.pipeline(transaction=True)
        if retry is None:
            dead = Job(**{**delivery.job.__dict__, "error": error})
            pipe.xadd(self.params.dead_letter_stream, {**dead.to_fields(), "error": error, "failed_at": str(time.time())},
                      maxlen=self.params.max_length, approximate=True)
        else:
            pipe.xadd(self.params.stream, retry.to_fields(), maxlen=self.params.max_length, approximate=True)
        pipe.xack(self.params.stream, self.params.group, delivery.id)
        pipe.xdel(self.params.stream, delivery.id)
        self._execute(pipe)
        if retry is None:
            metrics.INGEST_DEAD_LETTERS.inc()
            log.warning("ingest job dead-lettered after %d attempts: %s", self.params.max_attempts, error,
                        extra={"source": delivery.job.source, "stream": self.params.dead_letter_stream})
        return retry is not None

    @_unavailable
    @_regrouping
    def pending(self) -> int:
        self._ensure_group()
        return int(self._client.xpending(self.params.stream, self.params.group)["pending"])

    @_unavailable
    def depth(self) -> int:
        """Entries not yet delivered to any worker (acknowledged ones are deleted)."""
        return max(0, int(self._client.xlen(self.params.stream)) - self.pending())

    @_unavailable
    def dead_letters(self, count: int = 100) -> list[Job]:
        return [Job.from_fields(f) for _, f in self._client.xrevrange(self.params.dead_letter_stream, count=count)]

    def lock(self, name: str) -> ContextManager:
        # A lock expires claim_idle_s after its holder died, when its job also becomes reclaimable;
        # a live holder keeps renewing it.
        return _Lock(self, self._client.lock(f"{self.params.stream}:lock:{name}", timeout=self.params.claim_idle_s,
                                             sleep=0.05, thread_local=False))

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except _DOWN:
            return False

    def close(self) -> None:
        self._client.close()


class _Lock:
    """A redis-py lock, renewed while held, whose connection errors read as QueueUnavailable."""

    def __init__(self, queue: RedisStreamQueue, lock):
        self.params, self._lock = queue.params, lock
        self._held = threading.Event()

    @_unavailable
    def __enter__(self):
        self._lock.acquire()
        self._held.set()
        threading.Thread(target=self._renew, daemon=True).start()
        return self

    def _renew(self) -> None:
        while self._held.is_set() and not _wait_cleared(self._held, self.params.claim_idle_s / 3):
            try:
                self._lock.reacquire()
            except Exception as exc:  # lost it (Redis restarted): the job's own writes will notice
                log.warning("could not renew lock %s: %s", self._lock.name, exc)
                return

    def __exit__(self, *_: object) -> None:
        self._held.clear()
        try:
            self._lock.release()
        except (redis.exceptions.LockError, *_DOWN) as exc:  # expired or Redis gone: nothing left to release
            log.warning("could not release lock: %s", exc)


def _wait_cleared(event: threading.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True as soon as `event` is cleared."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not event.is_set():
            return True
        time.sleep(min(0.05, seconds))
    return not event.is_set()
