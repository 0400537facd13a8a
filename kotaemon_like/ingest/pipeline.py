"""The indexing pipeline: folder vs manifest -> load -> split -> embed -> replace a source's chunks.

Each file is indexed on its own; a bad file is recorded as failed with its reason and never stops
the run. The manifest is written last, so a crash mid-file means the file is simply indexed again.
"""

from __future__ import annotations

import logging
import os
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..components import Embedder, KeywordIndex, Loader, Splitter, VectorStore
from .loaders import LoadError, file_sha256
from .manifest import FileRecord, Manifest

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".part", ".crdownload", ".tmp", ".swp", ".download", ".partial")


def is_ignored(name: str) -> bool:
    """Hidden files and the temporary files of editors and browsers are never indexed."""
    return name.startswith((".", "~$")) or name.lower().endswith(IGNORED_SUFFIXES)


@dataclass
class FileResult:
    source: str
    action: str  # new | changed | unchanged | deleted | failed | skipped
    chunks: int = 0
    error: str = ""
    seconds: float = 0.0
    note: str = ""  # indexed, but something the user should know (e.g. pages without text)


@dataclass
class Plan:
    """What a folder scan found, compared with the manifest."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[FileResult] = field(default_factory=list)

    @property
    def to_index(self) -> list[str]:
        return self.new + self.changed


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
    ):
        self.root = Path(knowledge_dir)
        self.loaders = {suffix: loader for loader in loaders for suffix in loader.suffixes}
        self.splitter, self.embedder = splitter, embedder
        self.vector_store, self.keyword_index, self.manifest = vector_store, keyword_index, manifest
        self.max_bytes = int(max_file_mb * 1024 * 1024)
        manifest.check_embedder(embedder.name, embedder.dim)

    def source_of(self, path: Path | str) -> str:
        """The manifest key of a file: its path under the knowledge folder, POSIX style, NFC."""
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root))
        return unicodedata.normalize("NFC", relative.as_posix())

    def path_of(self, source: str) -> Path:
        return self.root / source

    def files(self) -> Iterable[Path]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not is_ignored(name):
                    yield Path(dirpath) / name

    def plan(self) -> Plan:
        """Compare the folder with the manifest; hashes only files whose size or mtime moved."""
        plan, known, seen = Plan(), self.manifest.all(), set()
        self.root.mkdir(parents=True, exist_ok=True)
        for path in self.files():
            source = self.source_of(path)
            seen.add(source)
            if path.suffix.lower() not in self.loaders:
                plan.skipped.append(FileResult(source, "skipped", error=self.unsupported(path)))
                continue
            record = known.get(source)
            if record is None:
                plan.new.append(source)
            elif record.status != "indexed" or not self._same_file(path, record):
                plan.changed.append(source)
            else:
                plan.unchanged.append(source)
        plan.deleted = sorted(set(known) - seen)
        return plan

    def unsupported(self, path: Path) -> str:
        return f"unsupported file type '{path.suffix or '(none)'}'; supported: {', '.join(sorted(self.loaders))}"

    def _same_file(self, path: Path, record: FileRecord) -> bool:
        stat = path.stat()
        if stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns:
            return True
        if stat.st_size != record.size or file_sha256(path) != record.sha256:
            return False
        # same bytes, new mtime (touched or copied again): remember the mtime, embed nothing
        self.manifest.put(FileRecord(**{**record.__dict__, "mtime_ns": stat.st_mtime_ns}))
        return True

    def index_file(self, source: str, action: str = "new") -> FileResult:
        """Load, split, embed and store one file, replacing whatever was indexed for it before."""
        start = time.perf_counter()
        path = self.path_of(source)
        try:
            stat = path.stat()
            loader = self.loaders.get(path.suffix.lower())
            if loader is None:
                raise LoadError(self.unsupported(path))
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
            self._forget(source)
            self.manifest.put(FileRecord(source, "", 0, 0, 0, "failed", error))
            log.warning("failed to index %s: %s", source, error, extra={"source": source})
            return FileResult(source, "failed", error=error, seconds=time.perf_counter() - start)
        self._forget(source)
        self.vector_store.upsert(chunks, vectors)
        self.keyword_index.upsert(chunks)
        self.vector_store.commit()
        self.keyword_index.commit()
        self.manifest.put(FileRecord(source, sha, stat.st_size, stat.st_mtime_ns, len(chunks), "indexed"))
        log.info("indexed %s: %d chunks", source, len(chunks), extra={"source": source, "chunks": len(chunks)})
        return FileResult(source, action, len(chunks), seconds=time.perf_counter() - start, note=_pages_note(documents))

    def _forget(self, source: str) -> None:
        self.vector_store.delete(source)
        self.keyword_index.delete(source)

    def remove(self, source: str) -> FileResult:
        """Drop a deleted file's chunks from both stores and the manifest."""
        self._forget(source)
        self.vector_store.commit()
        self.keyword_index.commit()
        self.manifest.remove(source)
        log.info("removed %s", source, extra={"source": source})
        return FileResult(source, "deleted")

    def sync(self, on_progress: Callable[[FileResult], None] | None = None, plan: Plan | None = None) -> Report:
        """Bring the index in line with the folder: index new and changed files, remove deleted ones."""
        start = time.perf_counter()
        plan = plan or self.plan()
        report = Report()
        report.results += [FileResult(s, "unchanged") for s in plan.unchanged] + plan.skipped
        for source in plan.deleted:
            report.results.append(self.remove(source))
        for source in plan.to_index:
            result = self.index_file(source, "new" if source in plan.new else "changed")
            report.results.append(result)
            if on_progress:
                on_progress(result)
        report.seconds = time.perf_counter() - start
        return report
