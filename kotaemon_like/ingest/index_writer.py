"""The one writer of an index: both stores and the manifest, always under the index's write lock.

A file is written in two phases. Its text goes into the keyword index as soon as it is split (then it
is searchable), its vectors follow batch by batch as the model makes them, and the manifest calls it
`indexed` only once every vector is stored. Before the first write the file is marked in progress, so a
crash at any point leaves it to be indexed again (its old and partial chunks are cleared first).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator, Sequence

import numpy as np

from ..components import Chunk, KeywordIndex, VectorStore
from .manifest import FileRecord, Manifest

log = logging.getLogger(__name__)

# A file whose chunks are partly in the stores carries this record until it is done: the scanner
# sees a size that never matches (so the file is indexed again after a crash) and a deleted file's
# leftovers are removed like any indexed file's.
IN_PROGRESS = "indexing"


def in_progress(source: str, stored: int) -> FileRecord:
    """The record of a file being indexed, `stored` of its chunks with their vectors so far."""
    return FileRecord(source, "", -1, 0, stored, IN_PROGRESS)


class IndexWriter:
    """Writes chunks, vectors and manifest records of a knowledge folder; other processes take turns via `lock`."""

    def __init__(self, vector_store: VectorStore, keyword_index: KeywordIndex, manifest: Manifest,
                 lock: Callable[[], ContextManager] = nullcontext):
        self.vector_store, self.keyword_index, self.manifest = vector_store, keyword_index, manifest
        self.lock = lock

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self.lock():
            for store in (self.vector_store, self.keyword_index):
                if hasattr(store, "refresh"):  # what other processes committed since we last looked
                    store.refresh()
            yield

    def _commit(self) -> None:
        """Store writes durable before the manifest records that rely on them."""
        self.vector_store.commit()
        self.keyword_index.commit()

    def _forget(self, source: str) -> None:
        self.vector_store.delete(source)
        self.keyword_index.delete(source)

    def store_text(self, chunks: Sequence[Chunk], starting: Sequence[str] = ()) -> None:
        """Phase one: `chunks` become keyword-searchable. Files in `starting` are marked in progress, then
        whatever was indexed for them before is cleared."""
        with self._locked():
            if starting:
                self.manifest.put_many([in_progress(source, 0) for source in starting])
            for source in starting:
                self._forget(source)
            self.keyword_index.upsert(chunks)
            self._commit()
            # renewed after the write: an answer cached while this text was not yet searchable is not served again
            self.manifest.renew()

    def store_vectors(self, chunks: Sequence[Chunk], vectors: np.ndarray | None, records: Sequence[FileRecord]) -> None:
        """Phase two: the vectors of chunks already in the keyword index, then the files' records (`indexed`
        for those now complete)."""
        with self._locked():
            if chunks:
                self.vector_store.upsert(chunks, vectors)
            self._commit()
            self.manifest.put_many(records)

    def fail(self, record: FileRecord) -> None:
        """A file that cannot be indexed: nothing of it stays in the stores, its record says why."""
        with self._locked():
            self._forget(record.source)
            self._commit()
            self.manifest.put(record)

    def remove(self, source: str) -> None:
        """A deleted file: its chunks leave both stores, then its record leaves the manifest."""
        with self._locked():
            self._forget(source)
            self._commit()
            self.manifest.remove(source)

    def repair(self) -> None:
        """Make the stores agree after a crash mid-write (stores that can disagree implement `repair`)."""
        with self.lock():
            for store in (self.vector_store, self.keyword_index):
                if hasattr(store, "repair"):
                    store.repair()
