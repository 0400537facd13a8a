"""Copy an index from one vector store to another (e.g. FAISS -> Qdrant) without re-embedding.

Upserts are idempotent and the target commits after every batch, so an interrupted migration is
finished by running it again. The keyword index is shared by both setups and is not copied.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Callable

from ..components import VectorStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called after each committed batch with (chunks copied so far, chunks in the source)."""


def migrate(source_store: VectorStore, target_store: VectorStore, progress: Progress | None = None,
            batch: int = 1000) -> int:
    """Copy every chunk and its vector from `source_store` into `target_store`; returns the number copied."""
    total = source_store.count()
    copied = 0
    log.info("migrating %d chunks from %s to %s", total, type(source_store).__name__, type(target_store).__name__)
    for chunks, vectors in source_store.scan(batch):
        target_store.upsert(chunks, vectors)
        target_store.commit()
        copied += len(chunks)
        if progress:
            progress(copied, total)
    log.info("migrated %d chunks; the target now holds %d", copied, target_store.count())
    return copied


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (the keyword index, the manifest) via SQLite's backup API."""
    if not source.exists():
        return
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
