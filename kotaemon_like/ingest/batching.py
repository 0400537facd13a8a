"""Cross-file embedding batches, and a loader thread that keeps them coming.

The model is the whole cost of ingestion, so nothing else may keep it waiting: a `Prefetcher` thread
loads and splits the next files while the current batch is embedded, and a `BatchWriter` gathers
chunks of many files into one batch (the embedder length-sorts within a call, so short chunks of many
small files share model calls). Nothing waits for the model to be searchable either: a batch's text is
written to the keyword index first, then its vectors follow an embedder batch at a time, in reading
order, and a file enters the manifest as indexed only once every one of its vectors is stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

from ..components import Chunk, Embedder
from .index_writer import IN_PROGRESS, IndexWriter, in_progress  # noqa: F401  (IN_PROGRESS: where callers look for it)
from .manifest import FileRecord
from .ocr import PageTally
from .scanner import FileResult

log = logging.getLogger(__name__)


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
    texted: float = 0.0  # when its last chunks so far became keyword-searchable (perf_counter)
    stored: int = 0  # chunks stored with their vectors
    started: bool = False  # marked in progress, and what was indexed for it before is gone from the stores
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
    """Stores the text of chunks of many files at once, then their vectors an embedder batch at a time, and
    commits each file once all its vectors are stored."""

    def __init__(self, writer: IndexWriter, embedder: Embedder, batch_texts: int, vector_batch: int,
                 on_result: Callable[[FileResult], None]):
        self.writer, self.embedder = writer, embedder
        self.batch_texts, self.vector_batch = batch_texts, max(1, vector_batch)
        self.on_result = on_result
        self._pending: list[tuple[FileJob, Chunk]] = []
        self._loaded: list[FileJob] = []  # loading finished, waiting for their last vectors to be stored

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
        """Make everything pending searchable by its text, then embed and store its vectors in reading order,
        committing the files that are then complete."""
        batch, self._pending = self._pending, []
        if not batch and not self._loaded:
            return
        self._store_text(batch)
        # A part is one embedder batch: as cheap per chunk as one call for all (measured), and the first
        # pages are found by meaning before the model reaches the last ones.
        parts = [batch[i : i + self.vector_batch] for i in range(0, len(batch), self.vector_batch)] or [[]]
        for part in parts:
            vectors = self.embedder.embed_documents([c.text for _, c in part]) if part else None
            self._store_vectors(part, vectors)

    def _store_text(self, batch: list[tuple[FileJob, Chunk]]) -> None:
        jobs = list({id(job): job for job, _ in batch}.values())
        starting = [job for job in jobs + self._loaded if not job.started]
        if not batch and not starting:
            return
        self.writer.store_text([c for _, c in batch], [job.source for job in starting])
        now = time.perf_counter()
        for job in starting:
            job.started = True
        for job in jobs:
            job.texted = now
            log.debug("text searchable", extra={"source": job.source, "seconds": round(now - job.start, 3)})

    def _store_vectors(self, part: list[tuple[FileJob, Chunk]], vectors) -> None:
        jobs = list({id(job): job for job, _ in part}.values())
        for job, _ in part:  # counted ahead; a failed write ends the run and the files stay in progress
            job.stored += 1
        done = [job for job in self._loaded if job.stored == job.received]
        finished = {id(job) for job in done}
        records = [FileRecord(job.source, job.sha256, job.size, job.mtime_ns, job.stored, "indexed") for job in done]
        records += [in_progress(job.source, job.stored) for job in jobs if id(job) not in finished]
        self.writer.store_vectors([c for _, c in part], vectors, records)
        self._loaded = [job for job in self._loaded if id(job) not in finished]
        end = time.perf_counter()
        for job in done:
            log.info("indexed %s: %d chunks", job.source, job.stored, extra={"source": job.source, "chunks": job.stored})
            self.on_result(FileResult(job.source, job.action, job.stored, seconds=end - job.start, note=job.note,
                                      text_seconds=(job.texted or end) - job.start))

    def _fail(self, job: FileJob, error: str) -> None:
        self._pending = [(j, c) for j, c in self._pending if j is not job]
        # size and mtime are kept so an unchanged bad file is not retried on every scan
        self.writer.fail(FileRecord(job.source, "", job.size, job.mtime_ns, 0, "failed", error))
        log.warning("failed to index %s: %s", job.source, error, extra={"source": job.source})
        self.on_result(FileResult(job.source, "failed", error=error, seconds=time.perf_counter() - job.start))

    def finish(self) -> None:
        """Store what is left and commit every file whose loading finished."""
        self.flush()
