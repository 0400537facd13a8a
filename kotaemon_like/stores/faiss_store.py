"""FAISS vector store: exact inner-product search over normalised vectors; SQLite holds the truth.

Each chunk's payload and vector are one SQLite row, and every write appends to a change log in the same
transaction, so a batch costs what it holds: nothing rewrites the whole index per batch. The FAISS index
is built in memory from a snapshot file (`vectors.<seq>.faiss`, the index as of change `seq`) plus the log
after it; a snapshot is written only when the log has grown by half the index (so writing them costs a
constant share per chunk), and at close. Other processes follow the log, reading only what changed.

`IndexIDMap2` over a flat index is used because it can remove ids (HNSW cannot), which
delete-by-source and re-indexing a changed file need.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Iterator, Sequence

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..components import Chunk, Filter, ScoredChunk
from . import sqlite_db

log = logging.getLogger(__name__)

SNAPSHOT = re.compile(r"^vectors\.(\d+)\.faiss$")
LEGACY_INDEX = "vectors.faiss"  # one file rewritten per batch, before the change log


class DimensionMismatchError(Exception):
    """The stored index was built with vectors of another size than the configured embedder makes."""


def vector_id(chunk_id: str) -> int:
    """A stable positive int64 for a chunk id."""
    return int.from_bytes(hashlib.blake2b(chunk_id.encode(), digest_size=8).digest(), "big") >> 1


class FaissVectorStore:
    """Rows with vectors plus a change log in `vectors.sqlite`; the FAISS index is their in-memory view."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        folder: str = ""  # relative to the index folder; "" = the index folder itself
        # a snapshot is written once the log holds this share of the index's size (0 = at every commit)
        snapshot_ratio: float = Field(0.5, ge=0)
        snapshot_min_changes: int = Field(2000, ge=0)  # ... and at least this many changes

    def __init__(self, params: Params | None = None, index_dir: Path | str = "data/index", dim: int = 384,
                 recreate: bool = False):
        """`recreate` (used by `kl reindex`) starts from an empty index whatever is on disk."""
        self.params = params or self.Params()
        self.dir = Path(index_dir) / self.params.folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._lock = threading.RLock()
        self._con = sqlite_db.connect(self.dir / "vectors.sqlite")
        sqlite_db.create_chunk_table(self._con)
        self._con.execute("CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, rowid INTEGER NOT NULL)")
        if "vector" not in {row[1] for row in self._con.execute("PRAGMA table_info(chunks)")}:
            self._con.execute("ALTER TABLE chunks ADD COLUMN vector BLOB")
        if recreate:
            for path in self._snapshots().values():
                path.unlink(missing_ok=True)
            (self.dir / LEGACY_INDEX).unlink(missing_ok=True)
            with sqlite_db.Transaction(self._con, self._lock) as con:
                con.execute("DELETE FROM chunks")
                con.execute("DELETE FROM changes")
        self._migrate_legacy_index()
        self._check_dimension()
        self._load()

    # -- the in-memory view ------------------------------------------------------------------------------

    def _snapshots(self) -> dict[int, Path]:
        found = {}
        for path in self.dir.iterdir():
            match = SNAPSHOT.match(path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def _load(self) -> None:
        """The newest snapshot plus the log after it; without a snapshot, every row."""
        seq, index = self._newest_snapshot()
        if seq:
            if index.d != self.dim:
                raise self._dimension_error(index.d)
            self._index, self._seq = index, seq
            self._ids = set(faiss.vector_to_array(index.id_map).tolist()) if index.ntotal else set()
        else:
            self._index, self._seq, self._ids = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim)), 0, set()
            outer = self._con.in_transaction  # inside a write, the rows are already read as one
            if not outer:
                self._con.execute("BEGIN")  # rows and log position read as one
            try:
                self._add_rows([r[0] for r in self._con.execute("SELECT rowid FROM chunks WHERE vector IS NOT NULL")])
                self._seq = self._latest()
            finally:
                if not outer:
                    self._con.execute("COMMIT")
        self._snapshot_seq = seq
        self._apply_log()

    def _newest_snapshot(self) -> tuple[int, faiss.Index | None]:
        for _ in range(5):  # another process may replace the newest snapshot while we read it
            snapshots = self._snapshots()
            seq = max(snapshots, default=0)
            if not seq:
                return 0, None
            try:
                return seq, faiss.read_index(str(snapshots[seq]))
            except RuntimeError:
                if snapshots[seq].exists():
                    raise
        raise RuntimeError(f"the vector snapshots in {self.dir} keep changing; is another process rewriting them?")

    def _latest(self) -> int:
        """The newest change's number (kept by SQLite even after the log is folded into a snapshot)."""
        row = self._con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return int(row[0]) if row else 0

    def _apply_log(self) -> None:
        """Bring the view up to the newest change: each changed row is removed, then added as it is now."""
        if self._latest() <= self._seq:
            return
        rows = self._con.execute("SELECT seq, rowid FROM changes WHERE seq > ? ORDER BY seq", (self._seq,)).fetchall()
        if not rows or rows[0][0] != self._seq + 1:
            self._load()  # the changes we missed were folded into a newer snapshot: start from that one
            return
        touched = list(dict.fromkeys(r[1] for r in rows))
        present = [i for i in touched if i in self._ids]
        if present:
            self._index.remove_ids(np.array(present, dtype=np.int64))
            self._ids.difference_update(present)
        self._add_rows(touched)
        self._seq = rows[-1][0]

    def _add_rows(self, rowids: Sequence[int]) -> None:
        ids, vectors = self._vectors(rowids)
        if len(ids):
            self._index.add_with_ids(vectors, ids)
            self._ids.update(ids.tolist())

    def _vectors(self, rowids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        ids, blobs = [], []
        for start in range(0, len(rowids), 900):  # SQLite's parameter limit
            part = rowids[start : start + 900]
            for rowid, blob in self._con.execute(
                f"SELECT rowid, vector FROM chunks WHERE rowid IN ({','.join('?' * len(part))}) AND vector IS NOT NULL", part
            ):
                ids.append(rowid)
                blobs.append(blob)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), self.dim) if ids else np.empty((0, self.dim), np.float32)
        return np.array(ids, dtype=np.int64), vectors

    def refresh(self) -> None:
        """Apply what other processes committed since we last looked (workers, the app)."""
        with self._lock:
            self._apply_log()

    # -- writes ----------------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise DimensionMismatchError(f"vectors have shape {vectors.shape}; this store holds dimension {self.dim}")
        ids = np.array([vector_id(c.id) for c in chunks], dtype=np.int64)
        # the last of a repeated id wins, as INSERT OR REPLACE makes it in the rows
        last = {int(i): n for n, i in enumerate(ids)}
        keep = np.fromiter(last.values(), dtype=np.int64)
        with self._write(ids[keep], vectors[keep]) as con:
            con.executemany(
                "INSERT OR REPLACE INTO chunks (rowid, id, source, page, text, metadata, vector) VALUES (?,?,?,?,?,?,?)",
                [(*sqlite_db.chunk_row(c, int(i)), v.tobytes()) for c, i, v in zip(chunks, ids, vectors)],
            )
            con.executemany("INSERT INTO changes (rowid) VALUES (?)", [(int(i),) for i in ids])

    def delete(self, source: str) -> int:
        write = self._write()
        with write as con:
            ids = [r[0] for r in con.execute("SELECT rowid FROM chunks WHERE source = ?", (source,))]
            if ids:
                con.execute("DELETE FROM chunks WHERE source = ?", (source,))
                con.executemany("INSERT INTO changes (rowid) VALUES (?)", [(i,) for i in ids])
            write.removed = ids
        return len(ids)

    def _write(self, ids: np.ndarray | None = None, vectors: np.ndarray | None = None) -> "_LoggedWrite":
        return _LoggedWrite(self, ids, vectors)

    def _apply_own(self, removed: Sequence[int], ids: np.ndarray | None, vectors: np.ndarray | None, seq: int) -> None:
        """Our committed write, applied from memory (no read-back); `seq` is its last log entry."""
        touched = [*removed, *(ids.tolist() if ids is not None else [])]
        present = [i for i in dict.fromkeys(touched) if i in self._ids]
        if present:
            self._index.remove_ids(np.array(present, dtype=np.int64))
            self._ids.difference_update(present)
        if ids is not None and len(ids):
            self._index.add_with_ids(vectors, ids)
            self._ids.update(ids.tolist())
        self._seq = seq

    # -- reads -----------------------------------------------------------------------------------------

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

    def missing(self, chunk_ids: Sequence[str]) -> set[str]:
        """Those of `chunk_ids` with no vector here (yet: a file whose text is indexed before its vectors)."""
        self.refresh()
        with self._lock:
            return {cid for cid in chunk_ids if vector_id(cid) not in self._ids}

    def count(self) -> int:
        self.refresh()
        with self._lock:
            return int(self._index.ntotal)

    def scan(self, batch: int = 1000) -> Iterator[tuple[list[Chunk], np.ndarray]]:
        """Every stored chunk with its vector, `batch` at a time (for migrating to another store)."""
        last = -1  # rowids are non-negative; paging by rowid stays correct if writes happen between batches
        while True:
            with self._lock:
                rows = self._con.execute(
                    f"SELECT rowid, {sqlite_db.CHUNK_COLUMNS}, vector FROM chunks WHERE rowid > ? AND vector IS NOT NULL "
                    "ORDER BY rowid LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            last = int(rows[-1][0])
            vectors = np.frombuffer(b"".join(r[-1] for r in rows), dtype=np.float32).reshape(len(rows), self.dim)
            yield [sqlite_db.row_chunk(r[1:-1]) for r in rows], vectors.copy()

    # -- snapshots -------------------------------------------------------------------------------------

    def commit(self) -> None:
        """Writes are durable when `upsert`/`delete` return; this only snapshots once the log is long enough."""
        with self._lock:
            pending = self._seq - self._snapshot_seq
            due = max(self.params.snapshot_min_changes, self.params.snapshot_ratio * self._index.ntotal)
            if pending and pending >= due:
                self.snapshot()

    def snapshot(self) -> None:
        """Write the index as of the newest change, drop older snapshots and the log they cover."""
        with self._lock:
            self._apply_log()
            seq = self._seq
            if seq == self._snapshot_seq and seq in self._snapshots():
                return
            path = self.dir / f"vectors.{seq}.faiss"
            tmp = path.with_suffix(".faiss.tmp")
            faiss.write_index(self._index, str(tmp))
            os.replace(tmp, path)
            self._snapshot_seq = seq
            for old_seq, old in self._snapshots().items():
                if old_seq < seq:
                    old.unlink(missing_ok=True)
            # other processes still behind `seq` notice the gap and load this snapshot
            self._con.execute("DELETE FROM changes WHERE seq <= ?", (seq,))
            log.debug("vector snapshot written", extra={"seq": seq, "vectors": self._index.ntotal})

    def close(self) -> None:
        with self._lock:
            try:
                if self._seq > self._snapshot_seq:
                    self.snapshot()
            finally:
                self._con.close()

    # -- upkeep ----------------------------------------------------------------------------------------

    def _check_dimension(self) -> None:
        row = self._con.execute("SELECT length(vector) FROM chunks WHERE vector IS NOT NULL LIMIT 1").fetchone()
        if row and row[0] != 4 * self.dim:
            raise self._dimension_error(row[0] // 4)

    def _dimension_error(self, stored: int) -> DimensionMismatchError:
        return DimensionMismatchError(
            f"the vector index in {self.dir} holds {stored}-dimensional vectors but the embedder makes "
            f"{self.dim}; run `kl reindex` to rebuild it with the configured embedder"
        )

    def _migrate_legacy_index(self) -> None:
        """An index written before the change log: move its vectors into the rows, once."""
        legacy = self.dir / LEGACY_INDEX
        if not legacy.exists():
            return
        index = faiss.read_index(str(legacy))
        if index.d != self.dim:
            raise self._dimension_error(index.d)
        rowids = [r[0] for r in self._con.execute("SELECT rowid FROM chunks WHERE vector IS NULL")]
        known = set(faiss.vector_to_array(index.id_map).tolist()) if index.ntotal else set()
        with sqlite_db.Transaction(self._con, self._lock) as con:
            for start in range(0, len(rowids), 1000):
                part = [i for i in rowids[start : start + 1000] if i in known]
                if part:
                    vectors = index.reconstruct_batch(np.array(part, dtype=np.int64))
                    con.executemany("UPDATE chunks SET vector = ? WHERE rowid = ?", [(v.tobytes(), i) for i, v in zip(part, vectors)])
            orphans = con.execute("DELETE FROM chunks WHERE vector IS NULL").rowcount
        if orphans:
            log.warning("dropped %d payload rows that had no vector in %s; run `kl reindex` if answers miss them", orphans, legacy)
        legacy.unlink()
        log.info("vector index moved to the change-log format", extra={"folder": str(self.dir)})


class _LoggedWrite:
    """A write transaction that first catches up with the log, then applies its own changes to the view."""

    def __init__(self, store: FaissVectorStore, ids: np.ndarray | None, vectors: np.ndarray | None):
        self.store, self.ids, self.vectors = store, ids, vectors
        self.removed: Sequence[int] = ()

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store._lock.acquire()
        try:
            store._con.execute("BEGIN IMMEDIATE")  # other processes' writes wait, so our log entries follow theirs
            store._apply_log()
        except BaseException:
            if store._con.in_transaction:
                store._con.execute("ROLLBACK")
            store._lock.release()
            raise
        return store._con

    def __exit__(self, exc_type, *_: object) -> None:
        store = self.store
        try:
            if exc_type:
                store._con.execute("ROLLBACK")
            else:
                seq = store._latest()
                store._con.execute("COMMIT")
                if seq > store._seq:
                    store._apply_own(self.removed, self.ids, self.vectors, seq)
        finally:
            store._lock.release()
