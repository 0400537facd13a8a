"""Cross-file embedding batches, and a loader thread that keeps them coming.

The model is the whole cost of ingestion, so nothing else may keep it waiting: a `Prefetcher` thread
loads and splits the next files while the current batch is embedded, and a `BatchWriter` gathers
chunks of many files into one embedding call (sentence-transformers length-sorts within a call, so
short chunks of many small files share batches), writes each batch to the stores in one locked
section, and puts a file into the manifest only once every one of its chunks is durably stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Union

from ..components import Chunk
from .manifest import FileRecord
from .ocr import PageTally
from .scanner import FileResult

if TYPE_CHECKING:
    from .pipeline import Indexer

log = logging.getLogger(__name__)

# A file whose chunks are partly in the stores carries this record until it is done: the scanner
# sees a size that never matches (so the file is indexed again after a crash) and a deleted file's
# leftovers are removed like any indexed file's.
IN_PROGRESS = "indexing"


@dataclass(eq=False)
class FileJob:
    """One file on its way through the pipeline; the loader side fills the file facts before `Loaded`."""

    source: str
    action: str  # new | changed
    start: float = field(default_factory=time.perf_counter)
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    pages: int = 0  # pages in the file, as the loader counts them
    documents: int = 0  # pages that had text
    received: int = 0  # chunks handed to the writer
    stored: int = 0  # chunks written to the stores
    cleared: bool = False  # what was indexed for it before is gone from the stores
    marked: bool = False  # carries the in-progress manifest record
    tally: PageTally = field(default_factory=PageTally)  # a PDF's pages by how they were read (text, OCR, blank, ...)

    @property
    def note(self) -> str:
        return self.tally.note()


@dataclass
class Chunks:
    job: FileJob
    chunks: list[Chunk]


@dataclass
class Loaded:
    job: FileJob


@dataclass
class Failed:
    job: FileJob
    error: str


Event = Union[Chunks, Loaded, Failed]


class Prefetcher:
    """Runs an event generator in a thread, at most `capacity` chunks ahead of the consumer."""

    def __init__(self, events: Iterator[Event], capacity: int):
        self.capacity = capacity
        self._events = events
        self._buffer: deque[Event] = deque()
        self._weight = 0
        self._done = False
        self._error: BaseException | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="kl-ingest-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self._events:
                weight = len(event.chunks) if isinstance(event, Chunks) else 0
                with self._cond:
                    while self._weight and self._weight + weight > self.capacity and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    self._buffer.append(event)
                    self._weight += weight
                    self._cond.notify_all()
        except BaseException as exc:  # a bug in a loader or splitter: re-raised in the consumer's thread
            self._error = exc
        finally:
            self._events.close()
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing is waiting to be consumed right now."""
        with self._cond:
            return not self._buffer

    def __iter__(self) -> Iterator[Event]:
        while True:
            with self._cond:
                while not self._buffer and not self._done:
                    self._cond.wait()
                if not self._buffer:
                    break
                event = self._buffer.popleft()
                if isinstance(event, Chunks):
                    self._weight -= len(event.chunks)
                self._cond.notify_all()
            yield event
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()


class BatchWriter:
    """Embeds chunks of many files together and commits each file once all its chunks are stored."""

    def __init__(self, indexer: Indexer, batch_texts: int, on_result: Callable[[FileResult], None]):
        self.indexer = indexer
        self.batch_texts = batch_texts
        self.on_result = on_result
        self._pending: list[tuple[FileJob, Chunk]] = []
        self._loaded: list[FileJob] = []  # loading finished, waiting for their last chunks to be stored

    @property
    def pending(self) -> int:
        return len(self._pending)

    def handle(self, event: Event) -> None:
        if isinstance(event, Chunks):
            event.job.received += len(event.chunks)
            self._pending.extend((event.job, c) for c in event.chunks)
            if len(self._pending) >= self.batch_texts:
                self.flush()
        elif isinstance(event, Loaded):
            self._loaded.append(event.job)
        else:
            self._fail(event.job, event.error)

    def flush(self) -> None:
        """Embed and store everything pending; commit the files that are now complete."""
        batch, self._pending = self._pending, []
        vectors = self.indexer.embedder.embed_documents([c.text for _, c in batch]) if batch else None
        if batch or self._loaded:
            self._write(batch, vectors)

    def _write(self, batch: list[tuple[FileJob, Chunk]], vectors) -> None:
        indexer = self.indexer
        jobs = list({id(job): job for job, _ in batch}.values())
        with indexer.write_lock():
            indexer._refresh_stores()
            for job in jobs + self._loaded:
                if not job.cleared:
                    indexer._forget(job.source)
                    job.cleared = True
            if batch:
                chunks = [c for _, c in batch]
                indexer.vector_store.upsert(chunks, vectors)
                indexer.keyword_index.upsert(chunks)
            indexer.vector_store.commit()
            indexer.keyword_index.commit()
            for job, _ in batch:
                job.stored += 1
            done = [job for job in self._loaded if job.stored == job.received]
            for job in done:
                indexer.manifest.put(
                    FileRecord(job.source, job.sha256, job.size, job.mtime_ns, job.stored, "indexed")
                )
            finished = {id(job) for job in done}
            for job in jobs:
                if id(job) not in finished and not job.marked:
                    indexer.manifest.put(FileRecord(job.source, "", -1, 0, job.stored, IN_PROGRESS))
                    job.marked = True
        self._loaded = [job for job in self._loaded if id(job) not in finished]
        for job in done:
            log.info("indexed %s: %d chunks", job.source, job.stored, extra={"source": job.source, "chunks": job.stored})
            self.on_result(FileResult(job.source, job.action, job.stored, seconds=time.perf_counter() - job.start, note=job.note))

    def _fail(self, job: FileJob, error: str) -> None:
        self._pending = [(j, c) for j, c in self._pending if j is not job]
        indexer = self.indexer
        with indexer.write_lock():
            indexer._refresh_stores()
            indexer._forget(job.source)
            indexer.vector_store.commit()
            indexer.keyword_index.commit()
            # size and mtime are kept so an unchanged bad file is not retried on every scan
            indexer.manifest.put(FileRecord(job.source, "", job.size, job.mtime_ns, 0, "failed", error))
        log.warning("failed to index %s: %s", job.source, error, extra={"source": job.source})
        self.on_result(FileResult(job.source, "failed", error=error, seconds=time.perf_counter() - job.start))

    def finish(self) -> None:
        """Embed what is left and commit every file whose loading finished."""
        self.flush()
