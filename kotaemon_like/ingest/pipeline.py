"""The indexing pipeline: folder vs manifest -> load -> split -> embed -> replace a source's chunks.

Each file is indexed on its own; a bad file is recorded as failed with its reason and never stops
the run. The manifest is written last, so a crash mid-file means the file is simply indexed again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import nullcontext
from typing import Callable, ContextManager, Sequence

from ..components import Embedder, KeywordIndex, Loader, Splitter, VectorStore
from .loaders import LoadError
from .manifest import FileRecord, Manifest
from .scanner import FileResult, FolderScanner, Plan, is_ignored

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


def _pages_note(documents: Sequence) -> str:
    total = int(documents[0].metadata.get("pages", 0)) if documents else 0
    empty = total - len(documents)
    return f"{empty} of {total} pages have no text layer (scanned?) and were skipped" if empty > 0 else ""


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
        write_lock: Callable[[], ContextManager] = nullcontext,
    ):
        self.loaders = {suffix: loader for loader in loaders for suffix in loader.suffixes}
        self.scanner = FolderScanner(knowledge_dir, manifest, tuple(self.loaders))
        self.root = self.scanner.root
        self.splitter, self.embedder = splitter, embedder
        self.vector_store, self.keyword_index, self.manifest = vector_store, keyword_index, manifest
        self.max_bytes = int(max_file_mb * 1024 * 1024)
        # Store writes of several worker processes take turns; loading and embedding run in parallel.
        self.write_lock = write_lock
        manifest.check_embedder(embedder.name, embedder.dim)

    def repair(self) -> None:
        """Make the stores agree after a crash mid-write (stores that can disagree implement `repair`)."""
        with self.write_lock():
            for store in (self.vector_store, self.keyword_index):
                if hasattr(store, "repair"):
                    store.repair()

    def plan(self) -> Plan:
        return self.scanner.plan()

    def source_of(self, path: Path | str) -> str:
        return self.scanner.source_of(path)

    def path_of(self, source: str) -> Path:
        return self.scanner.path_of(source)

    def index_file(self, source: str, action: str = "new") -> FileResult:
        """Load, split, embed and store one file, replacing whatever was indexed for it before."""
        start = time.perf_counter()
        path = self.path_of(source)
        stat = None
        try:
            stat = path.stat()
            loader = self.loaders.get(path.suffix.lower())
            if loader is None:
                raise LoadError(self.scanner.unsupported(path))
            if stat.st_size > self.max_bytes:
                raise LoadError(
                    f"file is {stat.st_size / 2**20:.0f} MB, over the {self.max_bytes / 2**20:.0f} MB limit (ingest.max_file_mb)"
                )
            documents = loader.load(str(path), source)
            chunks = self.splitter.split(documents)
            vectors = self.embedder.embed_documents([c.text for c in chunks])
            sha = documents[0].sha256
        except (LoadError, OSError) as exc:
            error = str(exc) if isinstance(exc, LoadError) else f"cannot read file: {exc.strerror or exc}"
            with self.write_lock():
                self._forget(source)
                # size and mtime are kept so an unchanged bad file is not retried on every scan
                size, mtime = (stat.st_size, stat.st_mtime_ns) if stat else (0, 0)
                self.manifest.put(FileRecord(source, "", size, mtime, 0, "failed", error))
            log.warning("failed to index %s: %s", source, error, extra={"source": source})
            return FileResult(source, "failed", error=error, seconds=time.perf_counter() - start)
        with self.write_lock():
            self._refresh_stores()
            self._forget(source)
            self.vector_store.upsert(chunks, vectors)
            self.keyword_index.upsert(chunks)
            self.vector_store.commit()
            self.keyword_index.commit()
            self.manifest.put(FileRecord(source, sha, stat.st_size, stat.st_mtime_ns, len(chunks), "indexed"))
        log.info("indexed %s: %d chunks", source, len(chunks), extra={"source": source, "chunks": len(chunks)})
        return FileResult(source, action, len(chunks), seconds=time.perf_counter() - start, note=_pages_note(documents))

    def _refresh_stores(self) -> None:
        for store in (self.vector_store, self.keyword_index):
            if hasattr(store, "refresh"):
                store.refresh()

    def _forget(self, source: str) -> None:
        self.vector_store.delete(source)
        self.keyword_index.delete(source)

    def remove(self, source: str) -> FileResult:
        """Drop a deleted file's chunks from both stores and the manifest."""
        with self.write_lock():
            self._refresh_stores()
            self._forget(source)
            self.vector_store.commit()
            self.keyword_index.commit()
            self.manifest.remove(source)
        log.info("removed %s", source, extra={"source": source})
        return FileResult(source, "deleted")

    def refresh(self, source: str) -> FileResult:
        """Bring one source in line with its file as it is now: index, skip if unchanged, or remove.

        Jobs name only the source, never its content, so a stale or repeated job does no harm.
        """
        path = self.path_of(source)
        if not path.is_file():
            if self.manifest.get(source) is None:
                return FileResult(source, "unchanged")
            return self.remove(source)
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
        for source in plan.to_index:
            result = self.index_file(source, "new" if source in plan.new else "changed")
            report.results.append(result)
            if on_progress:
                on_progress(result)
        report.seconds = time.perf_counter() - start
        return report
