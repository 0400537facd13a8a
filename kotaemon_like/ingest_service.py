"""The live knowledge folder as a service: watcher and/or indexing workers, started and stopped together.

`kl watch` runs the watcher (plus in-process workers when the queue is in-process); `kl worker` runs
workers only; `kl serve` in embedded mode runs both next to the API.
"""

from __future__ import annotations

import logging
import threading

from . import registry
from .config import Settings
from .ingest.watcher import FolderWatcher
from .ingest.worker import IndexWorker

log = logging.getLogger(__name__)


class IngestService:
    """Owns the queue, the optional watcher and `workers` worker threads sharing one index."""

    def __init__(self, settings: Settings, watch: bool = True, workers: int = 1, kb: registry.KnowledgeBase | None = None):
        """`kb` shares the server's stores with the workers (one process, one index in memory)."""
        self.settings = settings
        self.queue = registry.build_queue(settings)
        self._owns_kb = kb is None
        self.kb = kb or (registry.build_knowledge_base(settings) if workers else None)
        self.indexer = registry.build_indexer(self.kb) if self.kb else None
        self.workers = [IndexWorker(self.indexer, self.queue, consumer=None) for _ in range(workers)]
        for i, worker in enumerate(self.workers):
            worker.consumer = f"{worker.consumer}-{i}"
        self.watcher = (
            FolderWatcher(
                registry.build_scanner(settings), self.queue, settings.watcher.quiet_s, settings.watcher.reconcile_s
            )
            if watch
            else None
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.indexer is not None:
            self.indexer.write_lock = self.workers[0].indexer.write_lock
            try:
                self.indexer.repair()
            except Exception as exc:  # e.g. the queue's lock server is down: workers will wait for it
                log.warning("index repair skipped: %s", exc)
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, args=(self._stop,), name=f"kl-worker-{worker.consumer}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.watcher is not None:
            self.watcher.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs, let the current ones finish (up to `timeout_s`), flush the index."""
        if self.watcher is not None:
            self.watcher.stop()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        if self.kb is not None:
            if self._owns_kb:
                self.kb.close()
            else:
                self.kb.vector_store.commit()
        self.queue.close()

    def health(self) -> tuple[bool, str]:
        """(True, "ok") while every worker thread and the watcher run; else False and what stopped."""
        if self._stop.is_set():
            return False, "stopping"
        dead = [t.name for t in self._threads if not t.is_alive()]
        if self.watcher is not None and not self.watcher.running:
            dead.append("watcher")
        return (False, f"stopped unexpectedly: {', '.join(dead)}") if dead else (True, "ok")

    def wait(self, check_s: float = 5.0) -> bool:
        """Block until a stop is requested (True) or a worker or the watcher died (False)."""
        while not self._stop.wait(check_s):
            ok, why = self.health()
            if not ok:
                log.error("ingest service unhealthy: %s", why)
                return False
        return True

    def request_stop(self) -> None:
        self._stop.set()
