"""Cross-language retrieval: Chinese questions about English passages and English questions about Chinese ones.

    python bench/crosslingual.py [--config FILE] [--distractors N] [--out FILE]

The corpus is the first N xquad (English) and N cmrc2018 (Chinese) passages plus every passage a question
targets (bench/data/crosslingual.jsonl, 12 questions each way, written for this benchmark from the
passages' content). Reports, per direction and retriever, hit@1 and hit@k (k = retriever.top_k) and the
share of questions whose target passes the answer gate (`chat.min_relevance`) among the top k.
Run it once per config; the default config is the baseline. `hybrid-no-translate` is the configured hybrid
without the Chinese query's English gloss (`retriever.translate: false`), on the same index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from retrieval import SHARED, indexed, read_jsonl  # noqa: E402

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.config import PartSpec  # noqa: E402

QUESTIONS = ROOT / "data" / "crosslingual.jsonl"
CORPORA = (SHARED / "xquad" / "beir_en" / "corpus.jsonl", SHARED / "cmrc2018" / "beir_dev" / "corpus.jsonl")
DIRECTIONS = {"zh": "zh->en", "en": "en->zh"}


def build_corpus(questions: list[dict], distractors: int) -> list[dict]:
    wanted = {q["doc"] for q in questions}
    corpus = []
    for path in CORPORA:
        docs = read_jsonl(path)
        corpus += [d for i, d in enumerate(docs) if i < distractors or d["_id"] in wanted]
    missing = wanted - {d["_id"] for d in corpus}
    if missing:
        raise SystemExit(f"{QUESTIONS}: passages not found in the shared data: {sorted(missing)}")
    return corpus


def evaluate(config: str, distractors: int) -> list[dict]:
    settings = registry.load(config)
    questions = read_jsonl(QUESTIONS)
    corpus = build_corpus(questions, distractors)
    rows = []
    with indexed(settings, corpus) as (kb, chunks, index_s):
        k = int(settings.retriever.params.get("top_k", 4))
        gate = settings.chat.min_relevance
        for kind in ("keyword", "vector", "hybrid", "hybrid-no-translate"):
            params = settings.retriever.params if kind == settings.retriever.type else {"top_k": k}
            if kind == "hybrid-no-translate":
                params = {**settings.retriever.params, "translate": False}
            retriever = registry.build(
                "retriever", PartSpec(type=kind.split("-")[0], params=params), settings,
                embedder=kb.embedder, vector_store=kb.vector_store, keyword_index=kb.keyword_index,
            )
            for lang, direction in DIRECTIONS.items():
                asked = [q for q in questions if q["lang"] == lang]
                at1 = atk = gated = 0
                for q in asked:
                    hits = retriever.retrieve(q["question"], k=k)
                    sources = [h.chunk.source for h in hits]
                    at1 += bool(sources) and sources[0] == q["doc"]
                    atk += q["doc"] in sources
                    gated += any(h.chunk.source == q["doc"] and h.relevance >= gate for h in hits)
                n = len(asked)
                row = {
                    "direction": direction, "retriever": kind, "questions": n,
                    "hit_at_1": round(at1 / n, 3), f"hit_at_{k}": round(atk / n, 3),
                    "passes_gate": round(gated / n, 3), "min_relevance": gate,
                    "documents": len(corpus), "chunks": chunks, "index_s": round(index_s, 1),
                    "embedder": kb.embedder.name,
                }
                print(json.dumps(row, ensure_ascii=False), flush=True)
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT.parent / "config" / "default.yaml"))
    parser.add_argument("--distractors", type=int, default=60, help="passages of each language besides the targets")
    parser.add_argument("--out", type=Path, help="write the rows as a JSON list here")
    args = parser.parse_args()
    rows = evaluate(args.config, args.distractors)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
