"""FAISS vector store: exact inner-product search over normalised vectors, payloads in SQLite.

`IndexIDMap2` over a flat index is used because it can remove ids (HNSW cannot), which
delete-by-source and re-indexing a changed file need.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Iterator, Sequence

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict

from ..components import Chunk, Filter, ScoredChunk
from . import sqlite_db

log = logging.getLogger(__name__)


class DimensionMismatchError(Exception):
    """The stored index was built with vectors of another size than the configured embedder makes."""


def vector_id(chunk_id: str) -> int:
    """A stable positive int64 for a chunk id."""
    return int.from_bytes(hashlib.blake2b(chunk_id.encode(), digest_size=8).digest(), "big") >> 1


class FaissVectorStore:
    """Persistent FAISS flat index (`vectors.faiss`) plus a SQLite payload table (`vectors.sqlite`)."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        folder: str = ""  # relative to the index folder; "" = the index folder itself

    def __init__(self, params: Params | None = None, index_dir: Path | str = "data/index", dim: int = 384,
                 recreate: bool = False):
        """`recreate` (used by `kl reindex`) starts from an empty index whatever is on disk."""
        self.params = params or self.Params()
        self.dir = Path(index_dir) / self.params.folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._lock = threading.RLock()
        self._index_path = self.dir / "vectors.faiss"
        self._con = sqlite_db.connect(self.dir / "vectors.sqlite")
        sqlite_db.create_chunk_table(self._con)
        if recreate:
            self._index_path.unlink(missing_ok=True)
            self._con.execute("DELETE FROM chunks")
        self._index = self._open_index()
        self._loaded = self._file_state()
        self._dirty = False

    def _open_index(self) -> faiss.IndexIDMap2:
        if not self._index_path.exists():
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        index = faiss.read_index(str(self._index_path))
        if index.d != self.dim:
            raise DimensionMismatchError(
                f"the vector index in {self.dir} holds {index.d}-dimensional vectors but the embedder makes "
                f"{self.dim}; run `kl reindex` to rebuild it with the configured embedder"
            )
        return index

    def _file_state(self) -> tuple[int, int] | None:
        try:
            stat = self._index_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def refresh(self) -> None:
        """Re-read the index if another process committed to it since we loaded (workers, the app)."""
        with self._lock:
            state = self._file_state()
            if state != self._loaded and not self._dirty:
                self._index = self._open_index()
                self._loaded = state

    def repair(self) -> None:
        """After a crash between the two writes, keep only chunks present in both files (call under the write lock)."""
        self.refresh()
        stored = {row[0] for row in self._con.execute("SELECT rowid FROM chunks")}
        indexed = set(faiss.vector_to_array(self._index.id_map).tolist())
        if stored == indexed:
            return
        log.warning("vector index and payloads disagree; dropping %d orphans", len(stored ^ indexed))
        orphans = indexed - stored
        if orphans:
            self._index.remove_ids(np.fromiter(orphans, dtype=np.int64))
        missing = list(stored - indexed)
        with sqlite_db.Transaction(self._con, self._lock) as con:
            con.executemany("DELETE FROM chunks WHERE rowid = ?", [(i,) for i in missing])
        self._dirty = bool(orphans)
        self.commit()

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise DimensionMismatchError(f"vectors have shape {vectors.shape}; this store holds dimension {self.dim}")
        ids = np.array([vector_id(c.id) for c in chunks], dtype=np.int64)
        with sqlite_db.Transaction(self._con, self._lock) as con:
            # remove_ids scans the whole index: only pay for it when some ids are really there
            placeholders = ",".join("?" * len(ids))
            present = [r[0] for r in con.execute(f"SELECT rowid FROM chunks WHERE rowid IN ({placeholders})", ids.tolist())]
            if present:
                self._index.remove_ids(np.array(present, dtype=np.int64))
            self._index.add_with_ids(vectors, ids)
            con.executemany(
                "INSERT OR REPLACE INTO chunks (rowid, id, source, page, text, metadata) VALUES (?,?,?,?,?,?)",
                [sqlite_db.chunk_row(c, int(i)) for c, i in zip(chunks, ids)],
            )
            self._dirty = True

    def delete(self, source: str) -> int:
        with sqlite_db.Transaction(self._con, self._lock) as con:
            ids = [r[0] for r in con.execute("SELECT rowid FROM chunks WHERE source = ?", (source,))]
            if ids:
                self._index.remove_ids(np.array(ids, dtype=np.int64))
                con.execute("DELETE FROM chunks WHERE source = ?", (source,))
                self._dirty = True
        return len(ids)

    def search(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        self.refresh()
        with self._lock:
            if k <= 0 or self._index.ntotal == 0:
                return []
            query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
            params = None
            if filter:
                where, args = sqlite_db.filter_sql(filter)
                allowed = np.array([r[0] for r in self._con.execute(f"SELECT rowid FROM chunks WHERE {where}", args)], dtype=np.int64)
                if not len(allowed):
                    return []
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
            hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
            found = sqlite_db.chunks_by_rowid(self._con, [i for i, _ in hits])
        return [ScoredChunk(found[i], s) for i, s in hits if i in found]

    def count(self) -> int:
        with self._lock:
            return int(self._index.ntotal)

    def scan(self, batch: int = 1000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every stored chunk with its vector, `batch` at a time (for migrating to another store)."""
        last = -1  # rowids are non-negative; paging by rowid stays correct if writes happen between batches
        while True:
            with self._lock:
                rows = self._con.execute(
                    f"SELECT rowid, {sqlite_db.CHUNK_COLUMNS} FROM chunks WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not rows:
                    return
                ids = np.array([r[0] for r in rows], dtype=np.int64)
                vectors = self._index.reconstruct_batch(ids)
            last = int(ids[-1])
            yield [sqlite_db.row_chunk(r[1:]) for r in rows], vectors

    def commit(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            tmp = self._index_path.with_suffix(".faiss.tmp")
            faiss.write_index(self._index, str(tmp))
            os.replace(tmp, self._index_path)
            self._loaded = self._file_state()
            self._dirty = False

    def close(self) -> None:
        self.commit()
        with self._lock:
            self._con.close()
