"""Indexing workers: take jobs from the queue, bring each source in line with its file, ack after commit."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time

from .. import metrics
from ..queues.base import Delivery, JobQueue, QueueUnavailable
from .pipeline import Indexer

log = logging.getLogger(__name__)
WRITE_LOCK = "index-write"


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 10_000}"


def source_lock(source: str) -> str:
    return "source:" + hashlib.sha1(source.encode()).hexdigest()


class IndexWorker:
    """One consumer of the ingest queue. Many may run (threads or processes) in one consumer group."""

    def __init__(self, indexer: Indexer, queue: JobQueue, consumer: str | None = None, max_wait_s: float = 30.0):
        self.indexer, self.queue = indexer, queue
        self.consumer = consumer or consumer_name()
        self.max_wait_s = max_wait_s
        indexer.write_lock = lambda: queue.lock(WRITE_LOCK)
        self.ready = threading.Event()  # warmed up: the next file is indexed at full speed

    def handle(self, delivery: Delivery) -> None:
        """Process one job; retries and dead letters are the queue's business."""
        job = delivery.job
        wait = job.not_before - time.time()
        if wait > 0:  # a retry that came round early: honour its backoff
            time.sleep(min(wait, self.max_wait_s))
        claim_idle_s = getattr(getattr(self.queue, "params", None), "claim_idle_s", 30.0)
        heartbeat = _Heartbeat(self.queue, delivery, self.consumer, every_s=claim_idle_s / 3)
        try:
            with heartbeat, self.queue.lock(source_lock(job.source)):
                result = self.indexer.refresh(job.source)
        except QueueUnavailable:
            raise
        except Exception as exc:  # a bug or a store failure: the job is retried, never lost
            log.exception("ingest job crashed", extra={"source": job.source})
            self.queue.fail(delivery, f"{type(exc).__name__}: {exc}")
            metrics.INGEST_JOBS_DONE.labels("error").inc()
            return
        if result.action == "failed":
            self.queue.fail(delivery, result.error)
            metrics.INGEST_JOBS_DONE.labels("failed").inc()
            return
        self.queue.ack(delivery)
        metrics.INGEST_JOBS_DONE.labels(result.action).inc()
        if result.action in ("new", "changed"):
            metrics.INGEST_FILE_SECONDS.observe(result.seconds)
            metrics.INGEST_CHUNKS.inc(result.chunks)
        if result.action in ("new", "changed", "deleted") and job.event_time:
            metrics.INGEST_FRESHNESS.observe(max(0.0, time.time() - job.event_time))
        log.info("job done", extra={"source": job.source, "result": result.action, "chunks": result.chunks})

    def run_once(self, block_s: float = 1.0) -> int:
        """Receive and handle one batch; returns how many jobs were handled."""
        deliveries = self.queue.receive(self.consumer, count=1, block_s=block_s)
        for delivery in deliveries:
            self.handle(delivery)
        return len(deliveries)

    def run(self, stop: threading.Event, block_s: float = 1.0) -> None:
        """Loop until `stop` is set; an unreachable queue or any other error is waited out with backoff, never fatal."""
        try:
            self.indexer.warm_up()
        except Exception:  # the first job will meet the same problem and report it
            log.exception("ingest worker warm-up failed")
        self.ready.set()
        backoff = 0.5
        while not stop.is_set():
            try:
                self.run_once(block_s)
                metrics.INGEST_QUEUE_DEPTH.set(self.queue.depth())
                metrics.INGEST_QUEUE_PENDING.set(self.queue.pending())
                backoff = 0.5
            except QueueUnavailable as exc:
                log.warning("%s; retrying in %.1fs", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception:  # a job's delivery stays pending and is reclaimed; the loop must live on
                log.exception("ingest worker loop error; retrying in %.1fs", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)


class _Heartbeat:
    """Touches the delivery while a long file is indexed, so no other worker reclaims it meanwhile."""

    def __init__(self, queue: JobQueue, delivery: Delivery, consumer: str, every_s: float = 5.0):
        self.queue, self.delivery, self.consumer, self.every_s = queue, delivery, consumer, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.queue.touch(self.delivery, self.consumer)
            except Exception:  # the job itself will notice a lost queue
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
