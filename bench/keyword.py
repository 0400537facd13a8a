"""Keyword backends side by side: SQLite FTS5 (the embedded default), PostgreSQL full-text search (the stack's),
BM25 and PostgreSQL's ts_rank_cd, and Qdrant sparse vectors with the IDF modifier (qdrant-client's local mode:
its ranking is the server's, its speed is not), on the retrieval sets (English and Chinese): quality, indexing
and query time.

    python bench/keyword.py                        # throw-away PostgreSQL 15 on loopback; -> bench/results/keyword.json
    python bench/keyword.py --url postgresql://user:pass@host/db
    python bench/keyword.py --sets cmrc2018_zh --max-queries 300 --out /tmp/cmrc.json
    python bench/keyword.py --baseline-root ../kl-previous   # + that checkout's PostgreSQL index, same run

The same chunks (config/default.yaml's splitter) go into every backend; nDCG@10 as in bench/retrieval.py's
keyword rows. Times are wall seconds and process CPU seconds of this client (PostgreSQL's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ir_measures

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import DATASETS, MEASURES, NAMES, ranked_documents, read_jsonl, read_qrels  # noqa: E402
from kotaemon_like import registry  # noqa: E402
from kotaemon_like.components import Document  # noqa: E402
from kotaemon_like.stores.keyword_postgres import PostgresKeywordIndex  # noqa: E402
from kotaemon_like.stores.keyword_qdrant import QdrantKeywordIndex  # noqa: E402
from kotaemon_like.stores.keyword_sqlite import SqliteFtsKeywordIndex  # noqa: E402

BATCH = 256  # chunks per upsert, as the indexer writes them


class Searcher:
    """`retrieve(query, k)` over one keyword index, for bench/retrieval.py's ranked_documents."""

    def __init__(self, index):
        self.index, self.latencies = index, []

    def retrieve(self, query: str, k: int):
        t0 = time.perf_counter()
        hits = self.index.search(query, k)
        self.latencies.append((time.perf_counter() - t0) * 1000)
        return hits


def chunks_of(name: str, splitter, max_queries: int | None = None) -> tuple[list, dict, list]:
    data, qrels_path = DATASETS[name]
    qrels = read_qrels(qrels_path)
    queries = [q for q in read_jsonl(data / "queries.jsonl") if str(q["_id"]) in qrels][:max_queries]
    qrels = {str(q["_id"]): qrels[str(q["_id"])] for q in queries}
    docs = [Document(text=f"{d.get('title', '')}\n{d['text']}".strip(), source=str(d["_id"]), page=1, sha256="")
            for d in read_jsonl(data / "corpus.jsonl")]
    return splitter.split(docs), qrels, queries


def measure(backend: str, index, chunks: list, qrels: dict, queries: list, name: str) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(chunks), BATCH):
        index.upsert(chunks[start:start + BATCH])
    index.commit()
    index_s, index_cpu = time.perf_counter() - wall, time.process_time() - cpu
    searcher = Searcher(index)
    cpu = time.process_time()
    run = {str(q["_id"]): ranked_documents(searcher, q["text"]) for q in queries}
    query_cpu = time.process_time() - cpu
    scores = ir_measures.calc_aggregate(MEASURES, qrels, run)
    row = {
        "dataset": name, "backend": backend, **{NAMES[str(m)]: round(float(v), 4) for m, v in scores.items()},
        "queries": len(queries), "chunks": len(chunks),
        "index_s": round(index_s, 2), "index_cpu_s": round(index_cpu, 2),
        "query_ms_p50": round(statistics.median(searcher.latencies), 2),
        "query_ms_p95": round(statistics.quantiles(searcher.latencies, n=20)[-1], 2),
        "client_cpu_ms_per_query": round(query_cpu * 1000 / max(1, len(queries)), 2),
    }
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def baseline_index_class(root: Path):
    """PostgresKeywordIndex as another checkout wrote it, loaded beside ours (its own module name, our helpers)."""
    import importlib.util

    path = root / "kotaemon_like" / "stores" / "keyword_postgres.py"
    spec = importlib.util.spec_from_file_location("kotaemon_like.stores._baseline_keyword_postgres", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the Params annotations through it
    spec.loader.exec_module(module)
    return module.PostgresKeywordIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="PostgreSQL URL (default: start a throw-away server on loopback)")
    parser.add_argument("--sets", default=",".join(DATASETS), help=f"comma-separated subset of {','.join(DATASETS)}")
    parser.add_argument("--max-queries", type=int, help="ask only the first M judged queries of each set (whole corpus indexed)")
    parser.add_argument("--baseline-root", type=Path, help="also measure the PostgreSQL index of this checkout "
                        "(e.g. a worktree of the previous release), in its own table")
    parser.add_argument("--backends", default="sqlite,postgres,qdrant", help="comma-separated subset of sqlite,postgres,qdrant")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "keyword.json")
    args = parser.parse_args()
    settings = registry.load(ROOT / "config" / "default.yaml")
    splitter = registry.build("splitter", settings.splitter, settings)
    backends = set(args.backends.split(","))
    server = None
    if args.url is None and "postgres" in backends | ({"postgres"} if args.baseline_root else set()):
        from tests.postgres_server import PostgresServer

        server = PostgresServer().start()
    rows = []
    try:
        url = args.url or (server.create_database() if server else "")
        for name in args.sets.split(","):
            chunks, qrels, queries = chunks_of(name, splitter, args.max_queries)
            if "sqlite" in backends:
                with tempfile.TemporaryDirectory(prefix="kl-kw-") as tmp:
                    sqlite = SqliteFtsKeywordIndex(index_dir=tmp)
                    rows.append(measure("sqlite_fts (bm25)", sqlite, chunks, qrels, queries, name))
                    sqlite.close()
            for ranking in ("bm25", "ts_rank_cd") if "postgres" in backends else ():
                pg = PostgresKeywordIndex(PostgresKeywordIndex.Params(url=url, collection=f"{name}_{ranking}",
                                                                      ranking=ranking))
                rows.append(measure(f"postgres ({ranking})", pg, chunks, qrels, queries, name))
                pg.close()
            if "qdrant" in backends:
                qdrant = QdrantKeywordIndex(QdrantKeywordIndex.Params(location=":memory:"))
                rows.append(measure("qdrant sparse (bm25, local mode)", qdrant, chunks, qrels, queries, name))
                qdrant.close()
            if args.baseline_root:
                base_class = baseline_index_class(args.baseline_root)
                pg = base_class(base_class.Params(url=url, table="kl_keywords_baseline", collection=name))
                rows.append(measure("postgres (bm25), baseline", pg, chunks, qrels, queries, name))
                pg.close()
    finally:
        if server is not None:
            server.stop()
    args.out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
