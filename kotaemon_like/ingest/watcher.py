"""The folder watcher: watchdog events -> debounced, stable-file jobs on the ingest queue.

A burst of events for one file becomes one job, published only once the file has stopped changing
(size and mtime equal across a quiet period), so a large file still being copied is not indexed half
way. While the queue is unreachable, jobs are held in memory and published when it is back; a full
reconciliation against the manifest runs at start, every `reconcile_s`, and at once when the queue
comes back from an outage or was made anew (a Redis restarted without its data lost what was queued).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .. import metrics
from ..queues.base import Job, JobQueue, QueueUnavailable
from .scanner import FolderScanner, is_ignored

log = logging.getLogger(__name__)
CLOSED_QUIET_S = 0.1
TICK_S = 0.05  # the loop's longest sleep: reconciliation requests and held jobs are looked at this often
QUEUE_CHECK_S = 1.0  # how often the watcher asks the queue whether jobs may have been lost


@dataclass
class _Pending:
    action: str
    first_event: float  # wall clock, for freshness
    last_change: float  # monotonic
    stat: tuple[int, int] | None
    closed: bool = False  # the writer closed the file: a much shorter quiet period is enough


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class FolderWatcher(FileSystemEventHandler):
    """Watches the knowledge folder recursively and publishes one job per settled change."""

    def __init__(self, scanner: FolderScanner, queue: JobQueue, quiet_s: float = 0.5, reconcile_s: float = 300.0):
        self.scanner, self.queue = scanner, queue
        self.quiet_s, self.reconcile_s = quiet_s, reconcile_s
        self._pending: dict[str, _Pending] = {}
        self._buffer: dict[str, Job] = {}  # settled jobs the queue could not take yet
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rescan = threading.Event()
        self._queue_down = False
        self._incarnation: str | None = None
        self._next_check = 0.0
        self._observer = None
        self._thread: threading.Thread | None = None

    # -- watchdog callbacks (observer thread) --------------------------------------------------
    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("moved", "deleted", "created"):
                self._rescan.set()  # a whole folder came or went: let reconciliation list its files
            return
        if event.event_type == "moved":
            self._note(event.src_path, "delete")
            self._note(event.dest_path, "index")
        elif event.event_type == "deleted":
            self._note(event.src_path, "delete")
        elif event.event_type == "attrib" and self._pending_index(event.src_path):
            # a copy ends with chmod/utime after closing: that keeps the short after-close wait, and
            # a changed mtime still restarts the full one when the file's stat is checked
            return
        else:  # created, modified, closed, attrib of a file nothing was pending for
            self._note(event.src_path, "index", closed=event.event_type == "closed")

    def _pending_index(self, path: str | bytes) -> bool:
        try:
            source = self.scanner.source_of(Path(os.fsdecode(path)))
        except ValueError:
            return False
        with self._lock:
            entry = self._pending.get(source)
            return entry is not None and entry.action == "index"

    def _note(self, path: str | bytes, action: str, closed: bool = False) -> None:
        path = Path(os.fsdecode(path))
        if is_ignored(path.name):
            return
        try:
            source = self.scanner.source_of(path)
        except ValueError:  # outside the folder (moved out to elsewhere)
            return
        now = time.monotonic()
        with self._lock:
            entry = self._pending.get(source)
            first = entry.first_event if entry else time.time()
            self._pending[source] = _Pending(action, first, now, _stat(path) if action == "index" else None, closed)

    # -- the settling loop (own thread) --------------------------------------------------------
    def _quiet(self, entry: _Pending) -> float:
        return min(self.quiet_s, CLOSED_QUIET_S) if entry.closed else self.quiet_s

    def _next_due(self) -> float:
        """Seconds until the next pending file may have settled (at most one loop tick)."""
        now = time.monotonic()
        with self._lock:
            dues = [entry.last_change + self._quiet(entry) - now for entry in self._pending.values()]
        return max(0.0, min([TICK_S, *dues]))

    def _settled(self) -> list[Job]:
        now, ready = time.monotonic(), []
        with self._lock:
            for source, entry in list(self._pending.items()):
                if now - entry.last_change < self._quiet(entry):
                    continue
                path = self.scanner.path_of(source)
                if entry.action == "index":
                    current = _stat(path)
                    if current is None:
                        entry.action = "delete"
                    elif current != entry.stat:  # still being written: wait another quiet period
                        entry.stat, entry.last_change, entry.closed = current, now, False
                        continue
                del self._pending[source]
                ready.append(Job(source=source, action=entry.action, event_time=entry.first_event))
        # removals first (quick), then the smallest files: what settled together is searchable soonest
        return sorted(ready, key=lambda job: (job.action != "delete", (_stat(self.scanner.path_of(job.source)) or (0,))[0]))

    def _publish(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._buffer[job.source] = job  # a newer job for the same source replaces an older held one
        for source, job in list(self._buffer.items()):
            try:
                self.queue.publish(job)
            except QueueUnavailable as exc:
                metrics.WATCHER_BUFFERED.set(len(self._buffer))
                if not self._queue_down:
                    log.warning("%s; holding %d job(s) until it is back", exc, len(self._buffer))
                self._queue_down = True
                return
            del self._buffer[source]
        metrics.WATCHER_BUFFERED.set(0)
        if self._queue_down:
            # jobs published before the outage may have died with the server: check the whole folder
            log.warning("queue reachable again; reconciling the folder")
            self._queue_down = False
            self._rescan.set()

    def _check_queue(self) -> None:
        """Reconcile at once when the queue comes back from an outage or was made anew (jobs in it lost),
        even if nothing was published meanwhile."""
        if time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + QUEUE_CHECK_S
        try:
            token = self.queue.incarnation()
        except QueueUnavailable as exc:
            if not self._queue_down:
                log.warning("%s; the folder is reconciled when it is back", exc)
            self._queue_down = True
            return
        if self._incarnation not in (None, token) or self._queue_down:
            log.warning("queue reachable again or made anew (queued jobs may be lost); reconciling the folder")
            self._queue_down = False
            self._rescan.set()
        self._incarnation = token

    def reconcile(self) -> int:
        """Queue whatever changed while nothing was watching; returns the number of jobs."""
        plan = self.scanner.plan()
        now = time.time()
        jobs = [Job(s, "delete", now) for s in plan.deleted] + [Job(s, "index", now) for s in plan.to_index]
        self._publish(jobs)
        if jobs:
            log.info("reconciled folder: %d new, %d changed, %d deleted", len(plan.new), len(plan.changed), len(plan.deleted))
        return len(jobs)

    def _loop(self) -> None:
        last_reconcile = time.monotonic()
        retry_at = 0.0
        # sleep until a file may have settled rather than to the next fixed tick: the wait is part of freshness
        while not self._stop.wait(self._next_due()):
            try:
                self._check_queue()
                due = time.monotonic() - last_reconcile >= self.reconcile_s
                if self._rescan.is_set() or due:
                    self._rescan.clear()
                    last_reconcile = time.monotonic()
                    self.reconcile()
                jobs = self._settled()
                if jobs or (self._buffer and time.monotonic() >= retry_at):
                    self._publish(jobs)
                    retry_at = time.monotonic() + 1.0
            except Exception:  # the watcher must outlive any single bad moment
                log.exception("watcher loop error")

    def start(self) -> None:
        self.scanner.root.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(self, str(self.scanner.root), recursive=True)
        self._observer.start()
        try:
            self.reconcile()
        except Exception as exc:
            log.warning("start-up reconciliation failed (%s); will retry", exc)
            self._rescan.set()
        self._thread = threading.Thread(target=self._loop, name="kl-watcher", daemon=True)
        self._thread.start()
        log.info("watching %s", self.scanner.root)

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)
