"""Chaos on the live folder with a real redis-server: restarts mid-job and with jobs queued, a worker
killed after part of a large file was written, and a worker loop that dies. Nothing lost, nothing twice."""

from __future__ import annotations

import signal
import textwrap
import time

import pytest

from kotaemon_like import registry
from kotaemon_like.ingest.batching import IN_PROGRESS
from kotaemon_like.ingest.manifest import Manifest
from kotaemon_like.ingest_service import IngestService
from kotaemon_like.queues.redis_stream import RedisStreamQueue

from .conftest import wait_until, write_config
from .test_live_folder import _kl, stack_config

pytestmark = pytest.mark.slow


def long_text(topic: str, sentences: int) -> str:
    """Distinct sentences (so every chunk differs), one per line."""
    return "\n".join(f"{topic} note {i}: item {i} ships within {i % 9 + 1} days to zone {i % 13}." for i in range(sentences))


def assert_exact(config, expected: set[str]) -> None:
    """Every expected file indexed once: chunks in both stores equal the manifest's count, no strays."""
    manifest = Manifest(registry.load(config).paths.index)
    records = {s: r for s, r in manifest.all().items()}
    assert set(records) == expected and all(r.status == "indexed" for r in records.values()), records
    kb = registry.build_knowledge_base(registry.load(config))
    try:
        assert kb.keyword_index.sources() == {s: r.chunks for s, r in records.items()}
        assert kb.vector_store.count() == kb.keyword_index.count() == sum(r.chunks for r in records.values())
    finally:
        kb.close()


def test_redis_restart_during_a_job_loses_nothing(workdir, redis_server):
    config = stack_config(workdir, redis_server.url, claim_idle_s=3)
    folder = workdir / "data" / "knowledge"
    service = IngestService(registry.load(config), watch=True, workers=1)
    service.start()
    try:
        (folder / "big.txt").write_text(long_text("Freight", 3000))
        manifest = Manifest(workdir / "data" / "index")
        wait_until(lambda: service.queue.pending() == 1, 30, what="the worker to take the job")
        redis_server.stop()
        redis_server.start()  # no persistence: the stream, the group and the pending job are gone
        (folder / "after.md").write_text("Loyalty points expire after two years.\n")
        wait_until(lambda: {s for s, r in manifest.all().items() if r.status == "indexed"} == {"big.txt", "after.md"},
                   240, every_s=0.5, what="both files indexed after the restart")
        wait_until(lambda: service.queue.pending() == 0 and service.queue.depth() == 0, 30, what="queue drained")
        assert service.health() == (True, "ok")
    finally:
        service.stop()
    assert_exact(config, {"big.txt", "after.md"})


def test_redis_restart_with_jobs_queued_reconciles_at_once(workdir, redis_server):
    config = stack_config(workdir, redis_server.url)  # reconcile_s is 300: only the restart can bring the jobs back
    folder = workdir / "data" / "knowledge"
    settings = registry.load(config)
    watcher = IngestService(settings, watch=True, workers=0)
    watcher.start()
    try:
        for i in range(14):
            (folder / f"faq-{i}.md").write_text(f"Question {i}: parcels to region {i} take {i + 2} days.\n")
        probe = RedisStreamQueue(RedisStreamQueue.Params(url=redis_server.url))
        wait_until(lambda: probe.depth() == 14, 30, what="14 jobs queued with no worker running")
        redis_server.stop()
        redis_server.start()  # all 14 queued jobs are lost; no file changes during or after the outage
        wait_until(lambda: probe.depth() == 14, 20, what="the watcher to notice and queue the folder again")
        workers = IngestService(settings, watch=False, workers=1)
        workers.start()
        try:
            manifest = Manifest(workdir / "data" / "index")
            wait_until(lambda: len([r for r in manifest.all().values() if r.status == "indexed"]) == 14, 120,
                       every_s=0.5, what="all 14 files indexed")
            wait_until(lambda: probe.pending() == 0 and probe.depth() == 0, 30, what="queue drained")
        finally:
            workers.stop()
        probe.close()
    finally:
        watcher.stop()
    assert_exact(config, {f"faq-{i}.md" for i in range(14)})


def test_worker_killed_after_partial_write_leaves_no_duplicates(workdir, redis_server):
    config = stack_config(workdir, redis_server.url, claim_idle_s=3)
    small_batches = """
        embedder: {type: sentence_transformers, model: all-MiniLM-L6-v2, batch_size: 8, max_seq_length: 256}
    """  # chunks are stored every 32: the file is written in several steps, so the kill lands between them
    config.write_text(config.read_text() + textwrap.dedent(small_batches))
    (workdir / "data" / "knowledge" / "big.txt").write_text(long_text("Freight", 1500))
    queue = RedisStreamQueue(RedisStreamQueue.Params(url=redis_server.url, claim_idle_s=3))
    from kotaemon_like.queues.base import Job

    queue.publish(Job("big.txt", "index", time.time()))
    manifest = Manifest(workdir / "data" / "index")
    first = _kl(config, "worker")
    try:
        partial = wait_until(lambda: (r := manifest.get("big.txt")) and r.status == IN_PROGRESS and r.chunks > 0 and r,
                             600, every_s=0.2, what="worker 1 to store the first chunks of the file")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert manifest.get("big.txt").status == IN_PROGRESS  # killed mid-file, chunks already in the stores
        second = _kl(config, "worker")
        try:
            record = wait_until(lambda: (r := manifest.get("big.txt")) and r.status == "indexed" and r, 900,
                                every_s=0.5, what="worker 2 to reclaim and finish")
            wait_until(lambda: queue.pending() == 0, 10, what="ack")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert record.chunks > partial.chunks
    assert_exact(config, {"big.txt"})
    queue.close()


def test_a_dead_worker_loop_fails_the_health_check(workdir):
    settings = registry.load(write_config(workdir))  # the in-process queue
    service = IngestService(settings, watch=False, workers=1)
    worker = service.workers[0]
    calls = []

    def flaky(block_s: float = 1.0) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("NOGROUP-like surprise")  # survived: the loop retries
        if len(calls) == 3:
            raise SystemExit  # what no handler survives: the thread ends
        return 0

    worker.run_once = flaky
    service.start()
    try:
        assert worker.ready.wait(120)  # it warms up (imports, the model's first call) before taking jobs
        wait_until(lambda: len(calls) >= 2, 10, what="the loop to survive one error")
        wait_until(lambda: not service.health()[0], 10, what="health to notice the dead thread")
        assert "stopped unexpectedly" in service.health()[1]
        assert service.wait(check_s=0.05) is False  # `kl worker` exits 1 on this
    finally:
        service.stop(timeout_s=2)
