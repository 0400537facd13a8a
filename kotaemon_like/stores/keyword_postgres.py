"""BM25 keyword index in PostgreSQL full-text search, shared by every app replica and indexer of a stack.

PostgreSQL's parser does not segment Chinese, so the text never goes through it: our own analyzer's terms
(stemmed words, CJK unigrams and bigrams; stores/analyzer.py) are written as a `tsvector` literal with their
positions, and as rows of a postings table (term, chunk, term frequency, chunk length). BM25 (k1=1.2, b=0.75,
FTS5's formula) is computed in SQL from the postings of the query's terms alone, read by an index-only scan,
so the ranking matches the SQLite FTS5 index and a query never reads the chunks' term vectors (Chinese
characters occur in most chunks: reading every matched vector made one Chinese query cost a second).
`ranking: ts_rank_cd` uses PostgreSQL's own (IDF-less) ranking over the `tsvector` and its GIN index instead.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ..components import FILTER_KEY, Chunk, Filter, ScoredChunk
from ..config import ConfigError
from ..ingest.splitter import chunk_position
from ..logs import redact
from .analyzer import query_terms, terms, warm_up

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
MAX_POSITION = 16383  # PostgreSQL keeps positions up to this; later occurrences still count through the last one

# BM25 from the postings of the query's terms: their count per term is its document frequency in the
# collection; N and the average length come from the chunk table.
_BM25 = """
WITH p AS (
  SELECT lexeme, rowid, tf, length FROM {table}_postings WHERE collection = %(collection)s AND lexeme = ANY(%(terms)s)
), df AS (
  SELECT lexeme, count(*) AS df FROM p GROUP BY lexeme
), stats AS (
  SELECT count(*)::float8 AS n, greatest(avg(length), 1)::float8 AS avgdl FROM {table} WHERE collection = %(collection)s
), scored AS (
  SELECT p.rowid, sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
                      * p.tf * 2.2 / (p.tf + 1.2 * (0.25 + 0.75 * p.length / s.avgdl))) AS score
  FROM p JOIN df USING (lexeme) CROSS JOIN stats s GROUP BY p.rowid
)
SELECT c.id, c.source, c.page, c.text, c.metadata, scored.score
FROM scored JOIN {table} c ON c.rowid = scored.rowid WHERE {where}
ORDER BY scored.score DESC, c.rowid LIMIT %(k)s
"""

_TS_RANK = """
SELECT c.id, c.source, c.page, c.text, c.metadata, ts_rank_cd(c.terms, %(query)s::tsquery) AS score
FROM {table} c WHERE c.collection = %(collection)s AND c.terms @@ %(query)s::tsquery AND {where}
ORDER BY score DESC, c.rowid LIMIT %(k)s
"""


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def term_positions(words: Sequence[str]) -> dict[str, list[int]]:
    """Each analyzed term's 1-based positions as PostgreSQL keeps them (at most 256, up to MAX_POSITION)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for i, term in enumerate(words, 1):
        positions[term].append(min(i, MAX_POSITION))
    return {t: sorted(set(p))[:256] for t, p in positions.items()}


def tsvector_literal(positions: dict[str, list[int]]) -> str:
    """Terms and their positions as a tsvector literal, bypassing PostgreSQL's parser."""
    return " ".join(f"{_lexeme(t)}:{','.join(map(str, p))}" for t, p in positions.items())


def tsquery_literal(words: Sequence[str]) -> str:
    return " | ".join(_lexeme(t) for t in dict.fromkeys(words))


class PostgresKeywordIndex:
    """Persistent BM25 over analyzed terms in one PostgreSQL table (per `collection`): delete-by-source, filters."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str = ""  # postgresql://user:pass@host:5432/db (a SQLAlchemy-style postgresql+psycopg:// URL works too)
        table: str = Field("kl_keywords", pattern=_NAME.pattern)
        collection: str = Field("default", min_length=1, max_length=200)  # tenants get `<collection>:<tenant>`
        ranking: Literal["bm25", "ts_rank_cd"] = "bm25"
        pool_size: int = Field(4, gt=0)

    def __init__(self, params: Params, index_dir: Any = None):
        import psycopg
        from psycopg_pool import ConnectionPool

        self.params = params
        if not params.url:
            raise ConfigError("keyword_index.url is empty; give the PostgreSQL URL (in the stack: set POSTGRES_PASSWORD "
                               "in .env, compose builds KL_DATABASE_URL from it)")
        warm_up()
        url = params.url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:  # one plain connection first: an unreachable server is one sentence, not a pool's retry log
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"keyword_index: cannot reach PostgreSQL ({redact(reason)}); start it or fix keyword_index.url") from None
        self._pool = ConnectionPool(url, min_size=1, max_size=params.pool_size, open=True,
                                    kwargs={"autocommit": False, "connect_timeout": 5})
        t = params.table
        with self._pool.connection() as con:
            # one creator at a time: several replicas start together
            con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (t,))
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (rowid bigserial PRIMARY KEY, collection text NOT NULL, id text NOT NULL, "
                "source text NOT NULL, page integer NOT NULL, text text NOT NULL, metadata jsonb NOT NULL, "
                "length integer NOT NULL, terms tsvector NOT NULL, UNIQUE (collection, id))"
            )
            con.execute(f"CREATE INDEX IF NOT EXISTS {t}_terms ON {t} USING gin (terms)")
            con.execute(f"CREATE INDEX IF NOT EXISTS {t}_source ON {t} (collection, source)")
            if con.execute("SELECT to_regclass(%s)", (f"{t}_postings",)).fetchone()[0] is None:
                self._create_postings(con)

    def _create_postings(self, con) -> None:
        """The postings table; chunks written before it existed get their postings from their term vectors."""
        t = self.params.table
        con.execute(f"CREATE TABLE {t}_postings (rowid bigint NOT NULL REFERENCES {t} (rowid) ON DELETE CASCADE, "
                    "collection text NOT NULL, lexeme text NOT NULL, tf integer NOT NULL, length integer NOT NULL)")
        chunks = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        if chunks:
            log.info("keyword index %s: building the postings of %d chunks (once)", t, chunks)
            con.execute(f"INSERT INTO {t}_postings SELECT c.rowid, c.collection, u.lexeme, "
                        f"coalesce(array_length(u.positions, 1), 1), c.length FROM {t} c, unnest(c.terms) u")
        con.execute(f"CREATE INDEX {t}_postings_terms ON {t}_postings (collection, lexeme) INCLUDE (rowid, tf, length)")
        con.execute(f"CREATE INDEX {t}_postings_rowid ON {t}_postings (rowid)")  # for the cascade

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        chunks = list({c.id: c for c in chunks}.values())  # the same id twice in one batch: the last one wins
        rows, positions = [], {}
        for c in chunks:
            words = terms(c.text)
            positions[c.id] = (term_positions(words), len(words))
            rows.append((self.params.collection, c.id, c.source, c.page, c.text,
                         json.dumps(dict(c.metadata), ensure_ascii=False), len(words), tsvector_literal(positions[c.id][0])))
        t = self.params.table
        with self._pool.connection() as con, con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {t} (collection, id, source, page, text, metadata, length, terms) "
                "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s::tsvector) ON CONFLICT (collection, id) DO UPDATE SET "
                "source = EXCLUDED.source, page = EXCLUDED.page, text = EXCLUDED.text, metadata = EXCLUDED.metadata, "
                "length = EXCLUDED.length, terms = EXCLUDED.terms RETURNING rowid, id", rows, returning=True)
            rowids = {}
            while True:
                rowid, cid = cur.fetchone()
                rowids[cid] = rowid
                if not cur.nextset():
                    break
            # a replaced chunk's old postings go; the row lock taken above keeps concurrent writers of it in order
            cur.execute(f"DELETE FROM {t}_postings WHERE rowid = ANY(%s)", (list(rowids.values()),))
            with cur.copy(f"COPY {t}_postings (rowid, collection, lexeme, tf, length) FROM STDIN") as copy:
                for cid, rowid in rowids.items():
                    term_positions_, length = positions[cid]
                    for term, where in term_positions_.items():
                        copy.write_row((rowid, self.params.collection, term, len(where), length))

    def delete(self, source: str) -> int:
        with self._pool.connection() as con:
            cur = con.execute(f"DELETE FROM {self.params.table} WHERE collection = %s AND source = %s",
                              (self.params.collection, source))
            return cur.rowcount

    def search(self, query: str, k: int, filter: Filter | None = None) -> list[ScoredChunk]:
        wanted = list(dict.fromkeys(query_terms(query)))
        if not wanted or k <= 0:
            return []
        where, params = filter_sql(filter)
        sql = (_BM25 if self.params.ranking == "bm25" else _TS_RANK).format(table=self.params.table, where=where)
        params.update(collection=self.params.collection, query=tsquery_literal(wanted), terms=wanted, k=k)
        with self._pool.connection() as con:
            rows = con.execute(sql, params).fetchall()
        return [ScoredChunk(Chunk(id=cid, text=text, source=source, page=int(page), metadata=metadata), float(score))
                for cid, source, page, text, metadata, score in rows]

    def pages(self, source: str, first: int, last: int) -> list[Chunk]:
        """The chunks of `source` on pages `first`..`last`, in reading order (page, then position)."""
        with self._pool.connection() as con:
            rows = con.execute(f"SELECT id, source, page, text, metadata FROM {self.params.table} WHERE collection = %s "
                               "AND source = %s AND page BETWEEN %s AND %s",
                               (self.params.collection, source, first, last)).fetchall()
        chunks = [Chunk(id=cid, text=text, source=src, page=int(page), metadata=meta) for cid, src, page, text, meta in rows]
        return sorted(chunks, key=lambda c: (c.page, chunk_position(c.id)))

    def count(self) -> int:
        with self._pool.connection() as con:
            return con.execute(f"SELECT count(*) FROM {self.params.table} WHERE collection = %s",
                               (self.params.collection,)).fetchone()[0]

    def sources(self) -> dict[str, int]:
        with self._pool.connection() as con:
            return dict(con.execute(f"SELECT source, count(*) FROM {self.params.table} WHERE collection = %s "
                                    "GROUP BY source", (self.params.collection,)).fetchall())

    def commit(self) -> None:
        """Every write is already its own committed transaction."""

    def close(self) -> None:
        self._pool.close()


def filter_sql(filter: Filter | None) -> tuple[str, dict[str, Any]]:
    """A WHERE fragment over `c` (or "true") and its named parameters for a metadata equality filter."""
    if not filter:
        return "true", {}
    clauses, params = [], {}
    for i, (key, value) in enumerate(filter.items()):
        if not FILTER_KEY.match(key):
            raise ValueError(f"filter key {key!r} is not a plain name")
        values = [str(v) if key != "page" else int(v) for v in (value if isinstance(value, (list, tuple, set)) else [value])]
        params[f"f{i}"] = values
        if key in ("source", "page"):
            clauses.append(f"c.{key} = ANY(%(f{i})s)")
        else:
            params[f"k{i}"] = key
            # a list-valued metadata field (tags) matches when any element is wanted
            clauses.append(f"(c.metadata ->> %(k{i})s = ANY(%(f{i})s) OR EXISTS (SELECT 1 FROM jsonb_array_elements_text("
                           f"CASE WHEN jsonb_typeof(c.metadata -> %(k{i})s) = 'array' THEN c.metadata -> %(k{i})s ELSE '[]' END) e "
                           f"WHERE e = ANY(%(f{i})s)))")
    return " AND ".join(clauses), params
