"""Retrieval quality of the configured parts on BEIR-format data: keyword, vector and hybrid.

    python bench/retrieval.py                       # the three shared sets, results -> bench/results/retrieval.json
    python bench/retrieval.py --data DIR --qrels FILE [--config FILE] [--name NAME]
    python bench/retrieval.py --config config/multilingual.yaml --max-docs 200 --max-queries 300 \
        --hybrid-weights 0.6:0.4,0.8:0.2 --out bench/results/retrieval_e5.json   # a slower embedder, quick

Each corpus document is indexed as one source (split into chunks by the configured splitter); a
document's rank is the rank of its best chunk. Prints one JSON object per dataset and retriever with
nDCG@10, Recall@10 and MRR@10 (ir-measures, pytrec_eval backend).

`--max-docs N` keeps the first N corpus documents and the queries with a relevant document among them
(judgements cut to those documents), `--max-queries M` the first M of those: fewer distractors, so
figures are higher than on the whole set; compare embedders only within one such subset.
`--hybrid-weights V:K,...` adds hybrid rows with other vector:keyword weights (same index, same queries).
`--without-translation` adds a `hybrid-no-translate` row (the hybrid without the Chinese gloss lists), the
baseline for query translation; `--only hybrid,...` skips the other retrievers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import ir_measures
from ir_measures import RR, R, nDCG

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.components import Document  # noqa: E402
from kotaemon_like.config import PartSpec  # noqa: E402
from kotaemon_like.retrievers.hybrid import rrf  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DATASETS = {
    "stackfaq": (SHARED / "stackfaq", SHARED / "stackfaq" / "qrels" / "dev.tsv"),
    "xquad_en": (SHARED / "xquad" / "beir_en", SHARED / "xquad" / "beir_en" / "qrels" / "test.tsv"),
    "cmrc2018_zh": (SHARED / "cmrc2018" / "beir_dev", SHARED / "cmrc2018" / "beir_dev" / "qrels" / "test.tsv"),
}
MEASURES = [nDCG @ 10, R @ 10, RR @ 10]
NAMES = {"nDCG@10": "ndcg_at_10", "R@10": "recall_at_10", "RR@10": "mrr_at_10"}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3 or parts[0] == "query-id":
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def index_corpus(kb: registry.KnowledgeBase, corpus: list[dict], batch: int = 512) -> int:
    """Index BEIR documents through the configured splitter, embedder and stores."""
    total = 0
    for start in range(0, len(corpus), batch):
        docs = [
            Document(text=f"{d.get('title', '')}\n{d['text']}".strip(), source=str(d["_id"]), page=1, sha256="")
            for d in corpus[start : start + batch]
        ]
        chunks = kb.splitter.split(docs)
        vectors = kb.embedder.embed_documents([c.text for c in chunks])
        kb.vector_store.upsert(chunks, vectors)
        kb.keyword_index.upsert(chunks)
        total += len(chunks)
        print(f"  indexed {min(start + batch, len(corpus))}/{len(corpus)} documents ({total} chunks)", file=sys.stderr)
    kb.vector_store.commit()
    return total


def ranked_documents(retriever, query: str, depth: int = 10) -> dict[str, float]:
    """Top `depth` distinct documents with descending pseudo-scores from the chunk ranking."""
    ranking: dict[str, float] = {}
    for hit in retriever.retrieve(query, k=depth * 3):
        if hit.chunk.source not in ranking:
            ranking[hit.chunk.source] = float(depth * 3 - len(ranking))
        if len(ranking) == depth:
            break
    return ranking


class PlainRRF:
    """Baseline: equal-weight RRF (k=60) of the two top-100 lists, as most hybrid stacks ship it."""

    def __init__(self, vector, keyword):
        self.vector, self.keyword = vector, keyword

    def retrieve(self, query: str, k: int):
        lists = [(1.0, self.vector.candidates(query, 100)), (1.0, self.keyword.candidates(query, 100))]
        return rrf(lists, 60)[:k]


class QueryVectorCache:
    """The embedder, remembering query vectors: the retrievers compared here embed the same queries."""

    def __init__(self, inner):
        self.inner, self._queries = inner, {}

    def embed_query(self, text: str):
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]

    def __getattr__(self, name):
        return getattr(self.inner, name)


def subset(corpus: list[dict], qrels: dict, queries: list[dict], max_docs: int | None, max_queries: int | None):
    """The first `max_docs` documents, the queries judged on them (first `max_queries`), judgements cut to them."""
    if max_docs:
        corpus = corpus[:max_docs]
        kept = {str(d["_id"]) for d in corpus}
        qrels = {q: {d: r for d, r in rel.items() if d in kept} for q, rel in qrels.items()}
        qrels = {q: rel for q, rel in qrels.items() if any(r > 0 for r in rel.values())}
        queries = [q for q in queries if str(q["_id"]) in qrels]
    if max_queries:
        queries = queries[:max_queries]
        qrels = {str(q["_id"]): qrels[str(q["_id"])] for q in queries}
    return corpus, qrels, queries


@contextmanager
def indexed(settings, corpus: list[dict]):
    """(knowledge base, chunks, seconds) for `corpus` indexed into a temporary folder with the configured parts."""
    with tempfile.TemporaryDirectory(prefix="kl-bench-") as tmp:
        settings = settings.model_copy(update={"paths": settings.paths.model_copy(update={"index": Path(tmp)})})
        kb = registry.build_knowledge_base(settings)
        kb.embedder = QueryVectorCache(kb.embedder)
        t0 = time.perf_counter()
        chunks = index_corpus(kb, corpus)
        try:
            yield kb, chunks, time.perf_counter() - t0
        finally:
            kb.close()


def evaluate(
    name: str, data: Path, qrels_path: Path, config: str | None, max_docs: int | None = None,
    max_queries: int | None = None, hybrid_weights: list[tuple[float, float]] = (),
    without_translation: bool = False, only: set[str] | None = None,
) -> list[dict]:
    settings = registry.load(config)
    qrels = read_qrels(qrels_path)
    queries = [q for q in read_jsonl(data / "queries.jsonl") if str(q["_id"]) in qrels]
    corpus, qrels, queries = subset(read_jsonl(data / "corpus.jsonl"), qrels, queries, max_docs, max_queries)
    results = []
    with indexed(settings, corpus) as (kb, chunks, index_s):
        base = settings.retriever.params
        built = {}
        variants = [f"hybrid@{v:g}:{k:g}" for v, k in hybrid_weights]
        variants += ["hybrid-no-translate"] if without_translation else []
        for kind in ("keyword", "vector", "hybrid", "plain_rrf", *variants):
            if only and kind not in only and kind.split("@")[0] not in only and kind != "hybrid-no-translate":
                continue
            if kind == "plain_rrf":
                retriever = PlainRRF(built["vector"], built["keyword"])
            elif kind == "hybrid-no-translate":
                retriever = registry.build(
                    "retriever", PartSpec(type="hybrid", params={**base, "translate": False}),
                    settings, embedder=kb.embedder, vector_store=kb.vector_store, keyword_index=kb.keyword_index,
                )
            elif kind.startswith("hybrid@"):
                v, k = (float(x) for x in kind.split("@")[1].split(":"))
                retriever = registry.build(
                    "retriever", PartSpec(type="hybrid", params={**base, "vector_weight": v, "keyword_weight": k}),
                    settings, embedder=kb.embedder, vector_store=kb.vector_store, keyword_index=kb.keyword_index,
                )
            else:
                params = base if kind == settings.retriever.type else {k: v for k, v in base.items() if k in ("top_k",)}
                retriever = built[kind] = registry.build(
                    "retriever", PartSpec(type=kind, params=params), settings,
                    embedder=kb.embedder, vector_store=kb.vector_store, keyword_index=kb.keyword_index,
                )
            t1 = time.perf_counter()
            run = {str(q["_id"]): ranked_documents(retriever, q["text"]) for q in queries}
            query_ms = (time.perf_counter() - t1) * 1000 / max(1, len(queries))
            scores = ir_measures.calc_aggregate(MEASURES, qrels, run)
            row = {
                "dataset": name,
                "retriever": kind,
                **{NAMES[str(m)]: round(float(v), 4) for m, v in scores.items()},
                "queries": len(queries),
                "documents": len(corpus),
                "chunks": chunks,
                "ms_per_query": round(query_ms, 2),
                "index_s": round(index_s, 1),
                "chunks_per_s": round(chunks / index_s, 2) if index_s else None,
                "embedder": kb.embedder.name,
            }
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="BEIR folder with corpus.jsonl and queries.jsonl")
    parser.add_argument("--qrels", type=Path, help="qrels TSV (query-id, corpus-id, score)")
    parser.add_argument("--name", help="dataset name in the output (default: the folder name)")
    parser.add_argument("--config", help="config file (default: config/default.yaml)")
    parser.add_argument("--out", type=Path, help="write all rows as a JSON list here")
    parser.add_argument("--max-docs", type=int, help="index only the first N documents of each corpus (quick mode)")
    parser.add_argument("--max-queries", type=int, help="ask only the first M queries judged on them")
    parser.add_argument("--hybrid-weights", default="", help="extra hybrid rows, vector:keyword pairs, e.g. 0.8:0.2,1:0.4")
    parser.add_argument("--without-translation", action="store_true", help="add a hybrid row without query translation")
    parser.add_argument("--only", default="", help="comma-separated retrievers to run (default: all)")
    parser.add_argument("--sets", default="", help=f"comma-separated subset of {','.join(DATASETS)}")
    args = parser.parse_args()
    weights = [tuple(float(x) for x in pair.split(":")) for pair in args.hybrid_weights.split(",") if pair]
    if bool(args.data) != bool(args.qrels):
        parser.error("--data and --qrels go together")
    sets = {args.name or args.data.name: (args.data, args.qrels)} if args.data else DATASETS
    if args.sets:
        sets = {name: sets[name] for name in args.sets.split(",")}
    partial = args.data or args.max_docs or args.max_queries or args.sets or args.only
    out = args.out or (None if partial else ROOT / "bench" / "results" / "retrieval.json")
    config = args.config or str(ROOT / "config" / "default.yaml")
    rows = [
        {**row, "max_docs": args.max_docs, "max_queries": args.max_queries}
        for name, (data, qrels) in sets.items()
        for row in evaluate(name, data, qrels, config, args.max_docs, args.max_queries, weights,
                            args.without_translation, set(filter(None, args.only.split(","))))
    ]
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
