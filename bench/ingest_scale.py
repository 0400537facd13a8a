"""Ingestion cost per chunk as the collection grows: 1k, 10k and 100k chunks.

    python bench/ingest_scale.py [--sizes 1000 10000 100000]

The corpus is synthetic but made of real text: each file holds paragraphs drawn from the evaluation
sets' passages (StackExchange answers, XQuAD contexts, CMRC2018 Chinese contexts), so the splitter,
the keyword index and the stores see realistic chunks. The whole pipeline runs (scan, load, split,
embed, vector store, keyword index, manifest) with the embedder replaced by a hash-based one, to
measure everything *but* the model; the model's own cost per chunk is measured on real chunks of the
corpus and added (it does not depend on the collection's size); `--real` also indexes the smallest
corpus end to end with the real model, as a check of that sum.

Two FAISS persistence modes, side by side in the same run:
  change_log   the default: rows + log per batch, snapshots when the log reaches half the index
  rewrite      `snapshot_ratio: 0, snapshot_min_changes: 0`: the whole index rewritten after every
               batch, as the store did before the change log (cost grows with the collection)
Writes bench/results/ingest_scale.json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.config import load_settings  # noqa: E402

SHARED = Path(os.environ.get("KL_SHARED_DATA", ROOT.parent / "shared" / "data"))
PARAGRAPHS_PER_FILE = 20
MODES = {"change_log": {}, "rewrite": {"snapshot_ratio": 0, "snapshot_min_changes": 0}}


def passages() -> list[str]:
    """Real passages from the evaluation sets."""
    found = []
    for line in (SHARED / "stackfaq" / "corpus.jsonl").read_text().splitlines():
        found.append(json.loads(line)["text"])
    for name in ("xquad/xquad.en.json", "cmrc2018/cmrc2018_dev.squad.json"):
        path = SHARED / name
        if not path.exists():
            continue
        for article in json.loads(path.read_text())["data"]:
            found.extend(p["context"] for p in article["paragraphs"])
    return [" ".join(p.split()) for p in found if len(p) > 80]


def write_corpus(folder: Path, chunks: int, pool: list[str], seed: int = 0) -> None:
    """Paragraphs of 120-180 words (CJK: ~4 characters a word), each a fresh mix of real sentences;
    the default splitter makes about three chunks of two paragraphs, so `chunks` / 3 paragraphs are written."""
    paragraphs_total = max(1, chunks // 3)
    rng = random.Random(seed)
    sentences = [s for p in pool for s in p.replace("。", "。\n").replace(". ", ".\n").splitlines() if len(s) > 20]
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(0, paragraphs_total, PARAGRAPHS_PER_FILE):
        paragraphs = []
        for _ in range(min(PARAGRAPHS_PER_FILE, paragraphs_total - f)):
            words, parts = 0, []
            target = rng.randint(120, 180)
            while words < target:
                sentence = rng.choice(sentences)
                parts.append(sentence)
                words += max(len(sentence.split()), len(sentence) // 4)
            paragraphs.append(" ".join(parts))
        (folder / f"doc-{f // PARAGRAPHS_PER_FILE:06d}.md").write_text("\n\n".join(paragraphs) + "\n")


class HashEmbedder:
    """Deterministic unit vectors from each text's hash: the pipeline's cost without the model's."""

    name, dim, batch_size = "bench-hash-384", 384, 64

    def embed_documents(self, texts):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def embed_query(self, text):
        return self.embed_documents([text])[0]

    def coverage(self, text):
        return 1.0


def settings_for(work: Path, corpus: Path, mode: str):
    base = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())
    base["paths"] = {"knowledge": str(corpus), "index": str(work / "index")}
    base["vector_store"] = {"type": "faiss", **MODES[mode]}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(base, allow_unicode=True))
    return load_settings(path)


def index_once(work: Path, corpus: Path, mode: str, embedder) -> dict:
    settings = settings_for(work, corpus, mode)
    kb = registry.build_knowledge_base(settings) if embedder is None else _kb_with(settings, embedder)
    indexer = registry.build_indexer(kb)
    start, cpu = time.perf_counter(), time.process_time()
    report = indexer.sync()
    kb.close()  # the final snapshot is part of the cost
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    chunks = sum(r.chunks for r in report.results)
    return {"chunks": chunks, "seconds": round(seconds, 2), "cpu_s": round(cpu_s, 2),
            "s_per_1k_chunks": round(1000 * seconds / max(chunks, 1), 3),
            "cpu_s_per_1k_chunks": round(1000 * cpu_s / max(chunks, 1), 3)}


def _kb_with(settings, embedder):
    """The configured stores with another embedder (model loading skipped)."""
    kb = registry.KnowledgeBase.__new__(registry.KnowledgeBase)
    index_dir = Path(settings.paths.index)
    index_dir.mkdir(parents=True, exist_ok=True)
    kb.settings = settings
    kb.loaders = [registry.build("loaders", s, settings, f"loaders[{i}]") for i, s in enumerate(settings.loaders)]
    kb.splitter = registry.build("splitter", settings.splitter, settings)
    kb.embedder = embedder
    kb.vector_store = registry.build("vector_store", settings.vector_store, settings, index_dir=index_dir, dim=embedder.dim)
    kb.keyword_index = registry.build("keyword_index", settings.keyword_index, settings, index_dir=index_dir)
    return kb


def model_cost(corpus: Path, n: int = 256) -> dict:
    """The bundled embedder's seconds per 1,000 chunks of this corpus, as the indexer batches them."""
    from kotaemon_like.embedders import SentenceTransformerEmbedder

    settings = load_settings(ROOT / "config" / "default.yaml")
    splitter = registry.build("splitter", settings.splitter, settings)
    from kotaemon_like.components import Document

    texts = []
    for path in sorted(corpus.glob("*.md")):
        doc = Document(text=path.read_text(), source=path.name, page=1, sha256="", metadata={})
        texts.extend(c.text for c in splitter.split([doc]))
        if len(texts) >= n:
            break
    embedder = SentenceTransformerEmbedder()
    embedder.embed_documents(texts[:64])  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, n, 128):
        embedder.embed_documents(texts[i : i + 128])
    seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return {"model": embedder.name, "chunks": n, "s_per_1k_chunks": round(1000 * seconds / n, 3),
            "cpu_s_per_1k_chunks": round(1000 * cpu_s / n, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--real", action="store_true", help="also index the smallest corpus end to end with the real model")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--model-cost", type=float, nargs=2, metavar=("CPU_S", "WALL_S"),
                        help="per 1,000 chunks, from an earlier run, instead of measuring the model again")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ingest_scale.json"))
    args = parser.parse_args()
    pool = passages()
    rows, model = [], None
    with tempfile.TemporaryDirectory(prefix="kl-scale-") as tmp:
        tmp = Path(tmp)
        for size in args.sizes:
            corpus = tmp / f"corpus-{size}"
            write_corpus(corpus, size, pool, seed=size)
            if model is None and args.model_cost:
                model = {"model": "all-MiniLM-L6-v2 (from an earlier run)", "chunks": 0,
                         "cpu_s_per_1k_chunks": args.model_cost[0], "s_per_1k_chunks": args.model_cost[1]}
            if model is None:
                model = model_cost(corpus)
                print(json.dumps({"model_cost": model}), flush=True)
            if args.real and not any("real" in r["embedder"] for r in rows):
                real = index_once(tmp / f"real-{size}", corpus, "change_log", None)
                real.update(size=size, mode="change_log", embedder="all-MiniLM-L6-v2 (real, end to end)")
                rows.append(real)
                print(json.dumps(real), flush=True)
            for mode in args.modes:
                row = index_once(tmp / f"{mode}-{size}", corpus, mode, HashEmbedder())
                row.update(size=size, mode=mode, embedder="hash (model excluded)",
                           s_per_1k_with_model=round(row["s_per_1k_chunks"] + model["s_per_1k_chunks"], 3),
                           cpu_s_per_1k_with_model=round(row["cpu_s_per_1k_chunks"] + model["cpu_s_per_1k_chunks"], 3))
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {"command": " ".join(["python", "bench/ingest_scale.py", *sys.argv[1:]]),
              "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
              "model_cost": model, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(table(result))
    print(table(result))


def table(result: dict) -> str:
    model = result["model_cost"]
    lines = [
        "# Ingestion cost as the collection grows",
        "",
        f"`{result['command']}` on {result['cpus']} cores (load average at the end {result['load_average']}).",
        f"Model ({model['model']}, measured on {model['chunks']} chunks of the corpus): {model['cpu_s_per_1k_chunks']} CPU s "
        f"({model['s_per_1k_chunks']} s) per 1,000 chunks, added to the model-free runs. CPU seconds (all threads of "
        "the process) are the steadier measure on a shared machine; wall seconds are shown beside them.",
        "",
        "| chunks | FAISS persistence | CPU s / 1k chunks, model excluded | CPU s / 1k, model included | wall s / 1k, model excluded | total wall s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        if "cpu_s_per_1k_with_model" in row:
            lines.append(f"| {row['chunks']} | {row['mode']} | {row['cpu_s_per_1k_chunks']} | {row['cpu_s_per_1k_with_model']} "
                         f"| {row['s_per_1k_chunks']} | {row['seconds']} |")
        else:
            lines.append(f"| {row['chunks']} | {row['mode']} (real model, end to end) | — | {row['cpu_s_per_1k_chunks']} "
                         f"| — | {row['seconds']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
