"""The manifest: what was indexed from which file (hash, size, mtime, chunks, status), and by which embedder."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..embedders import DISTINCT_NAME_SUFFIX
from ..stores import sqlite_db


INT8_SUFFIX = DISTINCT_NAME_SUFFIX["onnx-int8"]


class IndexMismatchError(Exception):
    """The index on disk was built by another embedder than the config names."""


def _model(name: str) -> str:
    return name.removesuffix(INT8_SUFFIX)


def _precision(name: str) -> str:
    return "int8" if name.endswith(INT8_SUFFIX) else "fp32"


def _same_model_other_precision(stored: str, configured: str) -> bool:
    return stored != configured and _model(stored) == _model(configured)


@dataclass(frozen=True)
class FileRecord:
    source: str
    sha256: str
    size: int
    mtime_ns: int
    chunks: int
    status: str  # "indexed" | "failed"
    error: str = ""
    indexed_at: float = 0.0


class Manifest:
    """SQLite table keyed by source path; the last write of indexing a file, so a crash re-indexes it.

    Every write renews the index's version token (meta `version`): answers cached for the old index are
    never served for the new one, even by another process reading the same file.
    """

    def __init__(self, index_dir: Path | str):
        self.path = Path(index_dir) / "manifest.sqlite"
        self._lock = threading.RLock()
        self._con = sqlite_db.connect(self.path)
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, sha256 TEXT, size INTEGER, mtime_ns INTEGER, "
            "chunks INTEGER, status TEXT, error TEXT, indexed_at REAL)"
        )
        self._con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")

    def check_embedder(self, name: str, dim: int) -> None:
        """Record the embedder on first use; refuse to mix vectors of two embedders afterwards."""
        with self._lock:
            meta = dict(self._con.execute("SELECT key, value FROM meta"))
            if "embedder" not in meta:
                self._con.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", [("embedder", name), ("dim", str(dim))]
                )
                return
        if meta["embedder"] != name or int(meta.get("dim", dim)) != dim:
            if _same_model_other_precision(meta["embedder"], name):
                raise IndexMismatchError(
                    f"the index in {self.path.parent} holds {_precision(meta['embedder'])} vectors of "
                    f"'{_model(meta['embedder'])}' but embedder.backend now makes {_precision(name)} ones; "
                    "run `kl reindex` once to rebuild it, "
                    f"or keep the old index with embedder.backend: {'torch' if name.endswith(INT8_SUFFIX) else 'onnx-int8'}"
                )
            raise IndexMismatchError(
                f"the index in {self.path.parent} was built with embedder '{meta['embedder']}' (dim {meta.get('dim')}) "
                f"but the config names '{name}' (dim {dim}); run `kl reindex` to rebuild it, "
                "or set the embedder section back"
            )

    def reset(self) -> None:
        """Forget every file and the embedder (before a full re-index)."""
        with sqlite_db.Transaction(self._con, self._lock) as con:
            con.execute("DELETE FROM files")
            con.execute("DELETE FROM meta WHERE key != 'version'")
            self._renew(con)

    @staticmethod
    def _renew(con) -> None:
        # a random token rather than a counter: a deleted and rebuilt index never reuses an old version
        con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (uuid.uuid4().hex,))

    def version(self) -> str:
        with self._lock:
            row = self._con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return row[0] if row else "empty"

    def get(self, source: str) -> FileRecord | None:
        with self._lock:
            row = self._con.execute("SELECT * FROM files WHERE source = ?", (source,)).fetchone()
        return FileRecord(*row) if row else None

    def all(self) -> dict[str, FileRecord]:
        with self._lock:
            return {row[0]: FileRecord(*row) for row in self._con.execute("SELECT * FROM files ORDER BY source")}

    def put(self, record: FileRecord) -> None:
        self.put_many([record])

    def put_many(self, records: Sequence[FileRecord]) -> None:
        """Several records in one transaction (one version renewal)."""
        if not records:
            return
        now = time.time()
        with sqlite_db.Transaction(self._con, self._lock) as con:
            con.executemany(
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                [(r.source, r.sha256, r.size, r.mtime_ns, r.chunks, r.status, r.error, r.indexed_at or now) for r in records],
            )
            self._renew(con)

    def renew(self) -> None:
        """A new version token: the index changed without any file's record changing."""
        with sqlite_db.Transaction(self._con, self._lock) as con:
            self._renew(con)

    def remove(self, source: str) -> None:
        with sqlite_db.Transaction(self._con, self._lock) as con:
            con.execute("DELETE FROM files WHERE source = ?", (source,))
            self._renew(con)

    def close(self) -> None:
        with self._lock:
            self._con.close()
