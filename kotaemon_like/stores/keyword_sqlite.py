"""BM25 keyword index on SQLite FTS5, fed with our own analyzer's terms so Chinese works too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel, ConfigDict

from ..components import Chunk, Filter, ScoredChunk
from ..ingest.splitter import chunk_position
from . import sqlite_db
from .analyzer import query_terms, terms, warm_up


class SqliteFtsKeywordIndex:
    """Persistent BM25 (FTS5 `bm25()`, k1=1.2, b=0.75) over analyzed terms; delete-by-source and metadata filters."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        file: str = "keyword.sqlite"  # inside the index folder; ":memory:" for a throw-away index

    def __init__(self, params: Params | None = None, index_dir: Path | str = "data/index"):
        self.params = params or self.Params()
        path = ":memory:" if self.params.file == ":memory:" else Path(index_dir) / self.params.file
        warm_up()  # before any worker thread starts
        self._lock = threading.RLock()
        self._con = sqlite_db.connect(path)
        sqlite_db.create_chunk_table(self._con)
        # unicode61 only splits on the spaces we put between analyzed terms
        self._con.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(terms, tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")"
        )

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        chunks = list({c.id: c for c in chunks}.values())  # the same id twice in one batch: the last one wins
        with sqlite_db.Transaction(self._con, self._lock) as con:
            ids = [c.id for c in chunks]
            self._delete_where(con, f"id IN ({','.join('?' * len(ids))})", ids)
            for chunk in chunks:
                rowid = con.execute(
                    "INSERT INTO chunks (id, source, page, text, metadata) VALUES (?,?,?,?,?)", sqlite_db.chunk_row(chunk)
                ).lastrowid
                con.execute("INSERT INTO fts (rowid, terms) VALUES (?, ?)", (rowid, " ".join(terms(chunk.text))))

    @staticmethod
    def _delete_where(con, where: str, params: list) -> int:
        con.execute(f"DELETE FROM fts WHERE rowid IN (SELECT rowid FROM chunks WHERE {where})", params)
        return con.execute(f"DELETE FROM chunks WHERE {where}", params).rowcount

    def delete(self, source: str) -> int:
        with sqlite_db.Transaction(self._con, self._lock) as con:
            return self._delete_where(con, "source = ?", [source])

    def search(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        wanted = query_terms(query)
        if not wanted or k <= 0:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in wanted)
        where, params = sqlite_db.filter_sql(filter)
        sql = (
            f"SELECT chunks.rowid, bm25(fts) AS s FROM fts JOIN chunks ON chunks.rowid = fts.rowid "
            f"WHERE fts MATCH ? AND {where} ORDER BY s LIMIT ?"
        )
        with self._lock:
            hits = self._con.execute(sql, [match, *params, k]).fetchall()
            found = sqlite_db.chunks_by_rowid(self._con, [h[0] for h in hits])
        return [ScoredChunk(found[rowid], -score) for rowid, score in hits if rowid in found]

    def pages(self, source: str, first: int, last: int) -> list[Chunk]:
        """The chunks of `source` on pages `first`..`last`, in reading order (page, then position)."""
        with self._lock:
            rows = self._con.execute(
                f"SELECT {sqlite_db.CHUNK_COLUMNS} FROM chunks WHERE source = ? AND page BETWEEN ? AND ?",
                [source, first, last],
            ).fetchall()
        return sorted((sqlite_db.row_chunk(row) for row in rows), key=lambda c: (c.page, chunk_position(c.id)))

    def count(self) -> int:
        with self._lock:
            return self._con.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def sources(self) -> dict[str, int]:
        with self._lock:
            return dict(self._con.execute("SELECT source, count(*) FROM chunks GROUP BY source").fetchall())

    def commit(self) -> None:
        """Every write is already its own committed transaction."""

    def close(self) -> None:
        with self._lock:
            self._con.close()
