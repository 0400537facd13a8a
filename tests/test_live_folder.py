"""The live knowledge folder with a real Redis: drop, modify, delete, rename, slow copies, bad files,
a worker killed mid-job, and a Redis restart while the watcher runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from kotaemon_like import registry
from kotaemon_like.ingest.manifest import Manifest
from kotaemon_like.ingest_service import IngestService
from kotaemon_like.queues.redis_stream import RedisStreamQueue

from .conftest import PDFS, ROOT, wait_until, write_config
from .sample_pdfs import ENGLISH, write_cut_short

pytestmark = pytest.mark.slow


def stack_config(workdir, redis_url: str, claim_idle_s: float = 30.0):
    return write_config(
        workdir,
        f"""
        queue: {{type: redis, url: "{redis_url}", claim_idle_s: {claim_idle_s}, backoff_s: 0.2, max_attempts: 3}}
        watcher: {{quiet_s: 0.3, reconcile_s: 300}}
        """,
    )


def sources_with(kb, phrase: str) -> set[str]:
    return {h.chunk.source for h in kb.keyword_index.search(phrase, 20) if phrase.lower() in h.chunk.text.lower()}


@pytest.fixture
def service(workdir, redis_server):
    settings = registry.load(stack_config(workdir, redis_server.url))
    svc = IngestService(settings, watch=True, workers=1)
    svc.start()
    yield svc
    svc.stop()


def test_folder_changes_become_searchable(service, workdir, sample_pdfs):
    kb, folder = service.kb, workdir / "data" / "knowledge"

    shutil.copy(sample_pdfs / ENGLISH, folder / "policy.pdf")
    wait_until(lambda: sources_with(kb, "International Validation Branch") == {"policy.pdf"}, 60, what="dropped PDF indexed")

    faq = folder / "faq.md"
    faq.write_text("Our helpdesk opens at 8am on weekdays.\n")
    wait_until(lambda: sources_with(kb, "helpdesk opens") == {"faq.md"}, 30, what="new text file indexed")
    faq.write_text("The service desk is staffed around the clock.\n")
    wait_until(lambda: sources_with(kb, "around the clock") == {"faq.md"}, 30, what="modified text indexed")
    assert sources_with(kb, "helpdesk opens") == set()

    faq.rename(folder / "support hours.md")
    wait_until(lambda: sources_with(kb, "around the clock") == {"support hours.md"}, 30, what="rename followed")
    assert "faq.md" not in kb.keyword_index.sources()

    (folder / "support hours.md").unlink()
    wait_until(lambda: sources_with(kb, "around the clock") == set(), 30, what="deleted file removed")
    assert set(kb.keyword_index.sources()) == {"policy.pdf"}
    assert kb.vector_store.count() == kb.keyword_index.count()


def test_slow_copy_is_indexed_once_and_complete(service, workdir, sample_pdfs):
    folder = workdir / "data" / "knowledge"
    data = (sample_pdfs / ENGLISH).read_bytes()
    target = folder / "arriving.pdf"
    with open(target, "wb") as handle:  # written in 5 pieces over ~1 s, as a slow network copy would
        for i in range(5):
            handle.write(data[i * len(data) // 5 : (i + 1) * len(data) // 5])
            handle.flush()
            time.sleep(0.22)
    manifest = Manifest(workdir / "data" / "index")
    record = wait_until(lambda: (r := manifest.get("arriving.pdf")) and r.status == "indexed" and r, 60, what="indexed")
    time.sleep(1.0)  # any second job for the same file would show up here
    assert record.size == len(data)
    assert service.kb.keyword_index.sources()["arriving.pdf"] == record.chunks
    assert service.queue.dead_letters() == []
    assert sources_with(service.kb, "International Validation Branch") == {"arriving.pdf"}


def test_corrupt_pdf_is_dead_lettered_while_others_index(service, workdir, sample_pdfs):
    folder = workdir / "data" / "knowledge"
    write_cut_short(sample_pdfs / ENGLISH, folder / "broken.pdf")
    (folder / "ok.md").write_text("Gift cards never expire.\n")
    dead = wait_until(lambda: service.queue.dead_letters(), 30, what="dead letter")
    assert dead[0].source == "broken.pdf" and "not a readable PDF" in dead[0].error and dead[0].attempts == 2
    wait_until(lambda: sources_with(service.kb, "gift cards") == {"ok.md"}, 30, what="good file indexed")


def _kl(config, *args):
    log = open(config.parent / f"kl-{time.monotonic_ns()}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "kotaemon_like.cli", "--config", str(config), "--log-level", "INFO", *args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )


@pytest.mark.shared_data  # needs a PDF long enough (73 pages) to kill the worker mid-job
def test_killed_worker_job_is_reclaimed_and_indexed_exactly_once(workdir, redis_server):
    config = stack_config(workdir, redis_server.url, claim_idle_s=3)
    shutil.copy(PDFS / "debian-faq.en.pdf", workdir / "data" / "knowledge" / "faq.pdf")
    queue = RedisStreamQueue(RedisStreamQueue.Params(url=redis_server.url, claim_idle_s=3))
    from kotaemon_like.queues.base import Job

    queue.publish(Job("faq.pdf", "index", time.time()))
    first = _kl(config, "worker")
    try:
        # a worker starts by loading the model and running it once, which a busy machine can stretch past a minute
        wait_until(lambda: queue.pending() == 1, 180, what="worker 1 to take the job")
        time.sleep(1.0)  # it is loading / embedding the 73-page PDF now
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed = Manifest(workdir / "data" / "index").get("faq.pdf")
        assert killed is None or killed.status == "indexing"  # killed before it finished (its text may be in)
        second = _kl(config, "worker")
        try:
            manifest = Manifest(workdir / "data" / "index")
            record = wait_until(lambda: (r := manifest.get("faq.pdf")) and r.status == "indexed" and r, 180,
                                every_s=0.5, what="worker 2 to reclaim and index")
            wait_until(lambda: queue.pending() == 0, 10, what="ack")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0
    finally:
        if first.poll() is None:
            first.kill()
    settings = registry.load(config)
    kb = registry.build_knowledge_base(settings)
    assert kb.keyword_index.sources() == {"faq.pdf": record.chunks}
    assert kb.vector_store.count() == record.chunks
    kb.close()


def test_redis_restart_loses_no_event(service, workdir, redis_server):
    folder = workdir / "data" / "knowledge"
    (folder / "before.md").write_text("Parcel lockers are available in every branch.\n")
    wait_until(lambda: sources_with(service.kb, "parcel lockers") == {"before.md"}, 30, what="first file")
    redis_server.stop()
    (folder / "during.md").write_text("Store credit can be transferred once.\n")
    time.sleep(1.5)  # the watcher sees the file while Redis is down and holds the job
    assert service.watcher.buffered >= 1
    redis_server.start()  # a fresh server: the stream and the consumer group are gone
    wait_until(lambda: sources_with(service.kb, "store credit") == {"during.md"}, 60, what="file from the outage")
    (folder / "after.md").write_text("Loyalty points expire after two years.\n")
    wait_until(lambda: sources_with(service.kb, "loyalty points") == {"after.md"}, 30, what="file after the outage")
    assert all(t.is_alive() for t in service._threads)
