"""A shared SQLite chunk table: payloads for citations, delete-by-source and metadata filters.

Both the FAISS vector store and the FTS5 keyword index keep their chunks in a table of this shape.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..components import Chunk, Filter

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CHUNK_COLUMNS = "id, source, page, text, metadata"


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection usable from several threads (callers hold their own lock)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def create_chunk_table(con: sqlite3.Connection, table: str = "chunks") -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, "
        "source TEXT NOT NULL, page INTEGER NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL)"
    )
    con.execute(f"CREATE INDEX IF NOT EXISTS {table}_source ON {table}(source)")


def chunk_row(chunk: Chunk, rowid: int | None = None) -> tuple:
    row = (chunk.id, chunk.source, chunk.page, chunk.text, json.dumps(dict(chunk.metadata), ensure_ascii=False))
    return row if rowid is None else (rowid, *row)


def row_chunk(row: Sequence[Any]) -> Chunk:
    """Build a Chunk from the columns in CHUNK_COLUMNS order."""
    cid, source, page, text, metadata = row
    return Chunk(id=cid, text=text, source=source, page=int(page), metadata=json.loads(metadata))


def filter_sql(filter: Filter | None, table: str = "chunks") -> tuple[str, list[Any]]:
    """A WHERE fragment (or "1") and its parameters for a metadata equality filter."""
    if not filter:
        return "1", []
    clauses, params = [], []
    for key, value in filter.items():
        if not _KEY.match(key):
            raise ValueError(f"filter key {key!r} is not a plain name")
        column = f"{table}.{key}" if key in ("source", "page") else f"json_extract({table}.metadata, '$.{key}')"
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        if key not in ("source", "page"):
            # a list-valued metadata field (tags) matches when any element is wanted
            clauses.append(
                f"({column} IN ({','.join('?' * len(values))}) OR EXISTS (SELECT 1 FROM json_each({table}.metadata, '$.{key}') "
                f"WHERE json_each.value IN ({','.join('?' * len(values))})))"
            )
            params.extend(values + values)
        else:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
    return " AND ".join(clauses), params


class Transaction:
    """`with Transaction(con, lock):` runs statements atomically under the store's lock."""

    def __init__(self, con: sqlite3.Connection, lock: threading.RLock):
        self.con, self.lock = con, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.con.execute("BEGIN")
        return self.con

    def __exit__(self, exc_type, *_: object) -> None:
        try:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


def chunks_by_rowid(con: sqlite3.Connection, rowids: Iterable[int], table: str = "chunks") -> dict[int, Chunk]:
    ids = list(rowids)
    if not ids:
        return {}
    rows = con.execute(
        f"SELECT rowid, {CHUNK_COLUMNS} FROM {table} WHERE rowid IN ({','.join('?' * len(ids))})", ids
    ).fetchall()
    return {row[0]: row_chunk(row[1:]) for row in rows}
