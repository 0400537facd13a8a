"""Freshness: time from copying a PDF into the watched folder until it is searchable, in two steps.

    python bench/freshness.py [--runs 5] [--files a.pdf b.pdf ...] [--backends redis] [--config FILE]

`keyword_*` is until a phrase found only on the file's last page is retrievable by its words (the text is
indexed before the vectors are made); `vector_*` is until that chunk also has its vector and the manifest
says `indexed` (every vector stored). Backends: `embedded` (in-process queue) and `redis` (a redis-server
started on a free 127.0.0.1 port; the worker runs in this process but every job travels through the Redis
Stream). `direct_*` is the same file indexed by calling the pipeline directly (its two times as the
pipeline reports them), so the queue path's overhead is the difference. `cpu_s` / `direct_cpu_s` are this
process's CPU seconds per file until fully indexed (worker, watcher and this poll loop included): on a
shared machine they say more than wall times. `load_1m` is the load average before the runs of each row.
Workers are measured warm, as a long-running one is: the first file after a worker starts would also wait
for llama-index's import (2-5 s here), which the worker now does at start, before it takes jobs.
Prints one JSON object per file and backend; writes bench/results/freshness.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymupdf
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kotaemon_like import registry  # noqa: E402
from kotaemon_like.ingest_service import IngestService  # noqa: E402

PDFS = ROOT.parent / "shared" / "data" / "pdfs"
FILES = ["federal-register-2020-17221.pdf", "MTRAG-UN-arxiv.pdf", "redp5110_sampled.pdf", "mineru_intro_zh.pdf"]


def last_page_phrase(path: Path) -> tuple[int, str]:
    """(page number, a line found on no other page) from the last page that has text.

    Running headers and footers repeat on every page, so they are skipped."""
    with pymupdf.open(path) as doc:
        texts = [" ".join(page.get_text().split()) for page in doc]
        for number in range(len(texts) - 1, -1, -1):
            others = " ".join(texts[:number] + texts[number + 1:])
            lines = [" ".join(line.split()) for line in doc[number].get_text().splitlines()]
            lines = [line for line in lines if len(line) >= 20 and line not in others]
            if lines:
                return number + 1, max(lines, key=len)[:60]
    raise ValueError(f"{path} has no distinctive text")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def found(kb, source: str, page: int, phrase: str) -> str | None:
    """The id of the chunk of the last page that holds its phrase, once the keyword index returns it for it."""
    hits = kb.keyword_index.search(phrase, 50, {"source": source})
    return next((h.chunk.id for h in hits if h.chunk.page == page and phrase in " ".join(h.chunk.text.split())), None)


def fully_indexed(kb, manifest, source: str, chunk_id: str) -> bool:
    """That chunk has its vector, and the manifest says the whole file is indexed."""
    record = manifest.get(source)
    return record is not None and record.status == "indexed" and not kb.vector_store.missing([chunk_id])


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def settings_for(work: Path, queue: dict, base: Path) -> Path:
    config = yaml.safe_load(base.read_text())
    config["paths"] = {"knowledge": str(work / "knowledge"), "index": str(work / "index")}
    config["queue"] = queue
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for(check, start: float, what: str):
    while not (value := check()):
        if time.perf_counter() > start + 600:
            raise RuntimeError(f"{what} after 600 s")
        time.sleep(0.01)
    return value


def stats(prefix: str, values: list[float]) -> dict:
    return {f"{prefix}_p50_s": round(statistics.median(values), 3), f"{prefix}_p95_s": round(percentile(values, 0.95), 3)}


def measure_backend(backend: str, files: list[str], runs: int, work: Path, queue: dict, base: Path) -> list[dict]:
    settings = registry.load(settings_for(work, queue, base))
    service = IngestService(settings, watch=True, workers=1)
    service.start()
    for worker in service.workers:  # a worker is long-running: measure it warm (its first file pays the imports)
        worker.ready.wait(120)
    kb, rows, manifest = service.kb, [], service.indexer.manifest
    direct_indexer = registry.build_indexer(kb, work / "direct")
    direct_indexer.warm_up()
    try:
        for name in files:
            page, phrase = last_page_phrase(PDFS / name)
            load = os.getloadavg()[0]
            keyword, vector, cpu = [], [], []
            for run in range(runs):
                source = f"{backend}-{run}-{name}"
                target = work / "knowledge" / source
                start, cpu_start = time.perf_counter(), time.process_time()
                shutil.copy(PDFS / name, target)
                chunk = wait_for(lambda: found(kb, source, page, phrase), start, f"{source} not searchable")
                keyword.append(time.perf_counter() - start)
                wait_for(lambda: fully_indexed(kb, manifest, source, chunk), start, f"{source} not indexed")
                vector.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
                target.unlink()
                while kb.keyword_index.sources().get(source):
                    time.sleep(0.05)
            direct_keyword, direct_vector, direct_cpu = [], [], []
            for run in range(runs):
                source = f"direct-{run}-{name}"
                shutil.copy(PDFS / name, work / "direct" / source)
                cpu_start = time.process_time()
                result = direct_indexer.index_file(source)
                direct_keyword.append(result.text_seconds)
                direct_vector.append(result.seconds)
                direct_cpu.append(time.process_time() - cpu_start)
            with pymupdf.open(PDFS / name) as doc:
                pages = doc.page_count
            row = {
                "file": name, "backend": backend, "pages": pages, "chunks": result.chunks, "runs": runs,
                "keyword_runs_s": [round(t, 2) for t in keyword], "vector_runs_s": [round(t, 2) for t in vector],
                **stats("keyword", keyword), **stats("direct_keyword", direct_keyword),
                **stats("vector", vector), **stats("direct_vector", direct_vector),
                "cpu_s": round(statistics.median(cpu), 2), "direct_cpu_s": round(statistics.median(direct_cpu), 2),
                "load_1m": round(load, 2), "embedder": kb.embedder.name,
            }
            for step in ("keyword", "vector"):
                p50, direct = row[f"{step}_p50_s"], row[f"direct_{step}_p50_s"]
                row[f"{step}_overhead_pct"] = round(100 * (p50 - direct) / p50, 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        service.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", nargs="+", default=FILES)
    parser.add_argument("--backends", nargs="+", default=["embedded", "redis"])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "default.yaml", help="parts to index with")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "freshness.json")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory(prefix=f"kl-fresh-{backend}-") as tmp:
            work = Path(tmp)
            (work / "knowledge").mkdir()
            (work / "direct").mkdir()
            redis_proc = None
            queue = {"type": "memory"}
            if backend == "redis":
                redis_proc, url = start_redis(work)
                queue = {"type": "redis", "url": url}
            try:
                rows += measure_backend(backend, args.files, args.runs, work, queue, args.config)
            finally:
                if redis_proc:
                    redis_proc.terminate()
                    redis_proc.wait()
    args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
