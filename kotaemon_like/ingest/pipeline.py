"""The indexing pipeline: folder vs manifest -> load -> split -> embed -> replace a source's chunks.

A bad file is recorded as failed with its reason and never stops the run. Files are read page by
page in a loader thread while the model embeds batches gathered across files (see `batching`); a
file's text is searchable before its vectors are made, but it enters the manifest as indexed only
after all its vectors are stored, so a crash mid-file means the file is simply indexed again.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import nullcontext
from typing import Callable, ContextManager, Iterable, Iterator, Sequence

from ..components import Chunk, Embedder, KeywordIndex, Loader, Splitter, VectorStore
from .batching import BatchWriter, Chunks, Event, Failed, FileJob, Loaded, Prefetcher
from .index_writer import IndexWriter
from .loaders import LoadError
from .manifest import Manifest
from .scanner import FileResult, FolderScanner, Plan, is_ignored
from .streaming import iter_documents

log = logging.getLogger(__name__)

@dataclass
class Report:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, action: str) -> int:
        return sum(1 for r in self.results if r.action == action)

    @property
    def embedded_chunks(self) -> int:
        return sum(r.chunks for r in self.results if r.action in ("new", "changed"))

    def summary(self) -> str:
        parts = [f"{self.count(a)} {a}" for a in ("new", "changed", "unchanged", "deleted", "failed", "skipped")]
        return f"{', '.join(parts)}; {self.embedded_chunks} chunks embedded in {self.seconds:.1f}s"


class Indexer:
    """Keeps the vector store, keyword index and manifest in step with a knowledge folder."""

    def __init__(
        self,
        knowledge_dir: Path | str,
        loaders: Sequence[Loader],
        splitter: Splitter,
        embedder: Embedder,
        vector_store: VectorStore,
        keyword_index: KeywordIndex,
        manifest: Manifest,
        max_file_mb: float = 200,
        max_file_chunks: int = 20_000,
        write_lock: Callable[[], ContextManager] = nullcontext,
        batch_texts: int | None = None,
        prefetch: bool = True,
    ):
        """`batch_texts` chunks (default 4 embedder batches) are embedded and stored together;
        `prefetch` loads the next files in a thread meanwhile (off: the same steps, one after another)."""
        self.loaders = {suffix: loader for loader in loaders for suffix in loader.suffixes}
        self.scanner = FolderScanner(knowledge_dir, manifest, tuple(self.loaders))
        self.root = self.scanner.root
        self.splitter, self.embedder = splitter, embedder
        self.vector_store, self.keyword_index, self.manifest = vector_store, keyword_index, manifest
        self.writer = IndexWriter(vector_store, keyword_index, manifest, write_lock)
        self.max_bytes = int(max_file_mb * 1024 * 1024)
        self.max_chunks = max_file_chunks  # bounds the embedding work one file can ask for
        self.batch_texts = batch_texts or 4 * int(getattr(embedder, "batch_size", 64))
        self.prefetch = prefetch
        manifest.check_embedder(embedder.name, embedder.dim)

    @property
    def write_lock(self) -> Callable[[], ContextManager]:
        """Store writes of several worker processes take turns; loading and embedding run in parallel."""
        return self.writer.lock

    @write_lock.setter
    def write_lock(self, lock: Callable[[], ContextManager]) -> None:
        self.writer.lock = lock

    def repair(self) -> None:
        """Make the stores agree after a crash mid-write."""
        self.writer.repair()

    def warm_up(self) -> None:
        """Load what the first file would otherwise wait for (the splitter's imports, the model's first call)."""
        if hasattr(self.splitter, "warm_up"):
            self.splitter.warm_up()
        self.embedder.embed_documents(["warm up"])

    def plan(self) -> Plan:
        return self.scanner.plan()

    def source_of(self, path: Path | str) -> str:
        return self.scanner.source_of(path)

    def path_of(self, source: str) -> Path:
        return self.scanner.path_of(source)

    def index_file(self, source: str, action: str = "new") -> FileResult:
        """Load, split, embed and store one file, replacing whatever was indexed for it before."""
        return self._run([(source, action)], prefetch=False)[0]

    def _read(self, job: FileJob) -> Iterator[list[Chunk]]:
        """The chunks of one file, a page at a time; raises LoadError or OSError for a file that cannot be indexed."""
        path = self.path_of(job.source)
        refused = self.scanner.refusal(path)
        if refused:
            raise LoadError(refused)
        stat = path.stat()
        job.size, job.mtime_ns = stat.st_size, stat.st_mtime_ns
        loader = self.loaders.get(path.suffix.lower())
        if loader is None:
            raise LoadError(self.scanner.unsupported(path))
        if stat.st_size > self.max_bytes:
            raise LoadError(
                f"file is {stat.st_size / 2**20:.0f} MB, over the {self.max_bytes / 2**20:.0f} MB limit (ingest.max_file_mb)"
            )
        made = 0
        for document in iter_documents(loader, str(path), job.source, job.tally):
            if not job.documents:
                job.sha256, job.pages = document.sha256, int(document.metadata.get("pages", 0))
            job.documents += 1
            chunks = self.splitter.split([document])  # chunks never cross a page: splitting page by page is the same
            made += len(chunks)
            if made > self.max_chunks:  # the writer drops the chunks already stored for it
                raise LoadError(
                    f"more than {self.max_chunks} chunks by page {document.page} (ingest.max_file_chunks); "
                    "split the file into smaller ones or raise the limit"
                )
            if chunks:
                yield chunks

    def _events(self, items: Iterable[tuple[str, str]]) -> Iterator[Event]:
        for source, action in items:
            job = FileJob(source, action)
            try:
                for chunks in self._read(job):
                    yield Chunks(job, chunks)
            except (LoadError, OSError) as exc:
                yield Failed(job, str(exc) if isinstance(exc, LoadError) else f"cannot read file: {exc.strerror or exc}")
                continue
            yield Loaded(job)

    def _run(
        self, items: Sequence[tuple[str, str]], prefetch: bool, on_progress: Callable[[FileResult], None] | None = None
    ) -> list[FileResult]:
        """Index (source, action) pairs; results in the order given, `on_progress` in the order finished."""
        results: dict[str, FileResult] = {}

        def done(result: FileResult) -> None:
            results[result.source] = result
            if on_progress:
                on_progress(result)

        writer = BatchWriter(self.writer, self.embedder, self.batch_texts, self.embed_batch, done)
        events = Prefetcher(self._events(items), capacity=2 * self.batch_texts) if prefetch else None
        try:
            for event in events if events is not None else self._events(items):
                writer.handle(event)
                # the loader fell behind: keep the model busy with what is there rather than wait
                if events is not None and writer.pending >= self.embed_batch and events.idle():
                    writer.flush()
            writer.finish()
        finally:
            if events is not None:
                events.close()
        return [results[source] for source, _ in items]

    @property
    def embed_batch(self) -> int:
        return int(getattr(self.embedder, "batch_size", 64))

    def remove(self, source: str) -> FileResult:
        """Drop a deleted file's chunks from both stores and the manifest."""
        self.writer.remove(source)
        log.info("removed %s", source, extra={"source": source})
        return FileResult(source, "deleted")

    def refresh(self, source: str) -> FileResult:
        """Bring one source in line with its file as it is now: index, skip if unchanged, or remove.

        Jobs name only the source, never its content, so a stale or repeated job does no harm.
        """
        path = self.path_of(source)
        if not os.path.lexists(path):
            if self.manifest.get(source) is None:
                return FileResult(source, "unchanged")
            return self.remove(source)
        refused = self.scanner.refusal(path)
        if refused:  # a FIFO, a device or a link leading outside: never read, and nothing of it stays indexed
            if self.manifest.get(source) is not None:
                self.remove(source)
            return FileResult(source, "skipped", error=refused)
        if is_ignored(path.name):
            return FileResult(source, "skipped", error="ignored file name")
        record = self.manifest.get(source)
        if record is not None and record.status == "indexed" and self.scanner.same_file(path, record):
            return FileResult(source, "unchanged")
        return self.index_file(source, "changed" if record else "new")

    def sync(self, on_progress: Callable[[FileResult], None] | None = None, plan: Plan | None = None) -> Report:
        """Bring the index in line with the folder: index new and changed files, remove deleted ones."""
        start = time.perf_counter()
        plan = plan or self.plan()
        report = Report()
        report.results += [FileResult(s, "unchanged") for s in plan.unchanged] + plan.skipped + plan.failed
        for source in plan.deleted:
            report.results.append(self.remove(source))
        new = set(plan.new)
        items = [(source, "new" if source in new else "changed") for source in plan.to_index]
        report.results += self._run(items, self.prefetch, on_progress)
        report.seconds = time.perf_counter() - start
        return report
