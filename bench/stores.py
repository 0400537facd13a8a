"""Cost of the vector stores as the index grows: upsert rate, query latency, bytes and memory per chunk.

    HF_HUB_OFFLINE=1 python bench/stores.py            # the default plan, results -> bench/results/stores.json
    HF_HUB_OFFLINE=1 python bench/stores.py --only qdrant_memory   # re-run some stores, keep the other rows

Random 384-d unit vectors (the size all-MiniLM-L6-v2 makes) with small text payloads; no model is loaded.
Each (store, size) runs in its own single-threaded process so RSS growth is not blurred by earlier runs. Prints one
JSON object per store and size: store, n, upsert_per_s, p50_ms, p95_ms, bytes_per_chunk, rss_mb_delta,
plus filtered_p50_ms (a tenant filter matching half the chunks) and, for HNSW, recall_at_5 vs exact search.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIM = 384
BATCH = 512  # chunks per upsert, about what the indexer sends for a few PDF pages
QUERIES = 300
FILTERED_QUERIES = 20
K = 5
TIMEOUT_S = 600
# One thread per query: a server spends its cores on concurrent requests, and on a 2-core box spinning
# OpenMP/OpenBLAS pools turn any other load into ~8 ms scheduler stalls that swamp sub-ms searches.
ENV = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# store -> (sizes to run, why larger sizes are skipped)
PLAN: dict[str, tuple[list[int], str]] = {
    "faiss_flat": ([10_000, 100_000, 1_000_000], ""),
    "faiss_hnsw": (
        [10_000, 100_000],
        "1M skipped: a single-threaded HNSW build of 1M vectors alone would take most of the bench budget",
    ),
    "qdrant_local_disk": (
        [10_000],
        "100k skipped: local mode commits SQLite once per point; at ~130 points/s here (fsync-bound) that is ~13 min",
    ),
    "qdrant_local_tmpfs": ([10_000, 100_000], "1M skipped: local mode is not meant for collections past ~20k points"),
    "qdrant_memory": ([10_000, 100_000], "1M skipped: local mode is not meant for collections past ~20k points"),
}


def vector_batches(n: int, seed: int = 0):
    """Unit vectors in batches, regenerated on demand so the data never sits in the measured process's memory."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, BATCH):
        v = rng.normal(size=(min(BATCH, n - start), DIM)).astype(np.float32)
        yield start, v / np.linalg.norm(v, axis=1, keepdims=True)


def chunks(start: int, count: int):
    from kotaemon_like.components import Chunk

    return [
        Chunk(
            id=f"doc{i // 20}.pdf#{i}", text=f"chunk {i}: the return window is 30 days from delivery; see {i % 50}.",
            source=f"doc{i // 20}.pdf", page=i % 20 + 1, metadata={"tenant": "acme" if i % 2 else "globex"},
        )
        for i in range(start, start + count)
    ]


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(seconds, q)) * 1000, 3)


def open_store(store: str, folder: Path):
    """The store under test; `folder` is None for in-memory stores."""
    if store == "faiss_flat":
        from kotaemon_like.stores.faiss_store import FaissVectorStore

        return FaissVectorStore(index_dir=folder, dim=DIM)
    from kotaemon_like.stores.qdrant_store import QdrantVectorStore

    params = QdrantVectorStore.Params(location=":memory:") if store == "qdrant_memory" else QdrantVectorStore.Params()
    return QdrantVectorStore(params, index_dir=folder, dim=DIM)


def measure_store(store: str, n: int, folder: Path) -> dict:
    base = rss_mb()
    db = open_store(store, folder)
    start = time.perf_counter()
    for offset, vectors in vector_batches(n):
        db.upsert(chunks(offset, len(vectors)), vectors)
    db.commit()
    upsert_s = time.perf_counter() - start
    grown = rss_mb() - base
    queries = next(vector_batches(QUERIES, seed=1))[1]
    for q in queries[:10]:  # warm-up: first calls pay for lazy allocations
        db.search(q, K)
    times = []
    for q in queries:
        t = time.perf_counter()
        db.search(q, K)
        times.append(time.perf_counter() - t)
    filtered = []
    for q in queries[:FILTERED_QUERIES]:
        t = time.perf_counter()
        db.search(q, K, {"tenant": "acme"})
        filtered.append(time.perf_counter() - t)
    assert db.count() == n, f"{store} holds {db.count()} of {n}"
    db.close()
    on_disk = store != "qdrant_memory"
    return {
        "store": store, "n": n, "upsert_per_s": round(n / upsert_s, 1),
        "p50_ms": percentile_ms(times, 50), "p95_ms": percentile_ms(times, 95),
        "bytes_per_chunk": round(folder_bytes(folder) / n) if on_disk else None,
        "rss_mb_delta": round(grown, 1), "filtered_p50_ms": percentile_ms(filtered, 50),
    }


def measure_hnsw(n: int, folder: Path) -> dict:
    """Raw faiss HNSW (no payloads, no delete): the ANN reference for what an approximate index buys."""
    import faiss

    base = rss_mb()
    index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    start = time.perf_counter()
    for _, vectors in vector_batches(n):
        index.add(vectors)
    faiss.write_index(index, str(folder / "hnsw.faiss"))
    upsert_s = time.perf_counter() - start
    grown = rss_mb() - base
    index.hnsw.efSearch = 128
    queries = next(vector_batches(QUERIES, seed=1))[1]
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), K)
        times.append(time.perf_counter() - t)
        found.append(set(ids[0].tolist()))
    exact = faiss.IndexFlatIP(DIM)
    for _, vectors in vector_batches(n):
        exact.add(vectors)
    _, truth = exact.search(queries, K)
    recall = np.mean([len(f & set(t.tolist())) / K for f, t in zip(found, truth)])
    return {
        "store": "faiss_hnsw", "n": n, "upsert_per_s": round(n / upsert_s, 1),
        "p50_ms": percentile_ms(times, 50), "p95_ms": percentile_ms(times, 95),
        "bytes_per_chunk": round(folder_bytes(folder) / n), "rss_mb_delta": round(grown, 1),
        "recall_at_5": round(float(recall), 4), "note": "raw index: vectors only, no payloads, cannot delete",
    }


def run_one(store: str, n: int) -> dict:
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    parent = "/dev/shm" if store == "qdrant_local_tmpfs" else None
    folder = Path(tempfile.mkdtemp(prefix=f"kl-bench-{store}-", dir=parent))
    try:
        return measure_hnsw(n, folder) if store == "faiss_hnsw" else measure_store(store, n, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_isolated(store: str, n: int) -> dict:
    cmd = [sys.executable, __file__, "--one", store, str(n)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ, **ENV})
    except subprocess.TimeoutExpired:
        return {"store": store, "n": n, "skipped": f"did not finish within {TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"store": store, "n": n, "skipped": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--only", nargs="*", choices=sorted(PLAN), help="stores to run (default: all)")
    args.add_argument("--sizes", nargs="*", type=int, help="override the planned sizes")
    args.add_argument("--out", default=str(ROOT / "bench" / "results" / "stores.json"))
    args.add_argument("--one", nargs=2, metavar=("STORE", "N"), help=argparse.SUPPRESS)
    opts = args.parse_args()
    if opts.one:
        print(json.dumps(run_one(opts.one[0], int(opts.one[1]))))
        return
    results = []
    for store in opts.only or PLAN:
        sizes, why_not_larger = PLAN[store]
        for n in opts.sizes or sizes:
            result = run_isolated(store, n)
            print(json.dumps(result), flush=True)
            results.append(result)
        if why_not_larger and not opts.sizes:
            skipped = {"store": store, "n": 1_000_000 if max(sizes) >= 100_000 else 100_000, "skipped": why_not_larger}
            print(json.dumps(skipped), flush=True)
            results.append(skipped)
    out = Path(opts.out)
    if opts.only and out.exists():
        # a partial run replaces its own stores' rows and keeps the others
        kept = [r for r in json.loads(out.read_text()) if r["store"] not in opts.only]
        results = kept + results
    order = list(PLAN)
    results.sort(key=lambda r: (order.index(r["store"]), r["n"]))
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
