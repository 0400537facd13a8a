"""Ingestion speed and memory: llama-index's naive pipeline, the hand-written limit, and kotaemon-like.

    python bench/ingest.py                     # 3 interleaved runs + incremental + memory -> bench/results/ingest.{json,md}
    python bench/ingest.py --quick             # 1 run on a smaller corpus, small incremental and memory cases
    python bench/ingest.py --config FILE       # the config for (c) (default config/default.yaml)
    python bench/ingest.py --fast-backend onnx-int8   # embedder.backend for (d)

Pipelines, each in its own process on the same files (the shared PDFs plus one large text PDF made of
real debian-faq pages), timed from the first file read to the last vector stored, model already loaded:
  naive_llamaindex  SimpleDirectoryReader -> SentenceSplitter(512, 50) -> HuggingFaceEmbedding(MiniLM) -> VectorStoreIndex on FAISS
  limit             pymupdf pages -> our splitter -> SentenceTransformer.encode(batch_size=64); nothing stored
  default           kotaemon-like `Indexer.sync()` as the config wires it (stores, manifest, everything)
  fastest           the same with embedder.backend = --fast-backend
  limit_fastest     (--with-fast-limit) the limit with the fast backend's encoder: what (d) leaves on the table
pages_per_s counts every page of the corpus for every pipeline, so pages/s ratios are time ratios;
tokens are the word-pieces the model read (capped at 256 per text). peak_rss_mb is the process's ru_maxrss.
The machine is shared: every figure is a median of interleaved runs, and the spread is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("KL_SHARED_DATA", ROOT.parent / "shared" / "data"))
PDFS = SHARED / "pdfs"
TOKEN_CAP = 256
MARK = "BENCH-RESULT "


# ---------------------------------------------------------------- corpus


def make_pdf(target: Path, pages: int, sources: list[Path]) -> None:
    """A PDF of `pages` real pages, cycling through the text pages of `sources`."""
    import pymupdf

    with pymupdf.open() as out:
        made = 0
        while made < pages:
            for src in sources:
                with pymupdf.open(src) as doc:
                    text_pages = [i for i, p in enumerate(doc) if p.get_text().strip()]
                    for i in text_pages[: pages - made]:
                        out.insert_pdf(doc, from_page=i, to_page=i)
                    made += min(len(text_pages), pages - made)
                if made >= pages:
                    break
        out.save(target, garbage=3, deflate=True)


QUICK_PDFS = ("federal-register-2020-17221.pdf", "mineru_intro_zh.pdf", "normal_4pages_ko.pdf", "ocrmypdf_multipage_scanned.pdf")


def make_corpus(folder: Path, big_pages: int, quick: bool = False) -> dict:
    import pymupdf

    folder.mkdir(parents=True, exist_ok=True)
    for pdf in sorted(PDFS.glob("*.pdf")):
        if not quick or pdf.name in QUICK_PDFS:
            shutil.copy(pdf, folder / pdf.name)
    make_pdf(folder / "debian-faq-x.pdf", big_pages, [PDFS / "debian-faq.en.pdf"])
    pages = 0
    for pdf in folder.glob("*.pdf"):
        with pymupdf.open(pdf) as doc:
            pages += doc.page_count
    return {"files": len(list(folder.iterdir())), "pages": pages, "big_pdf_pages": big_pages}


def make_notes(folder: Path, count: int) -> None:
    """`count` tiny Markdown files, like an FAQ exported one answer per file."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:05d}.md").write_text(
            f"# Order question {i}\n\nOrders of type {i % 17} ship within {i % 7 + 1} days; "
            f"returns are accepted for {i % 30 + 1} days with the receipt number R-{i:05d}.\n"
        )


# ---------------------------------------------------------------- the pipelines (child processes)


def count_tokens(tokenizer, texts: list[str]) -> int:
    total = 0
    for start in range(0, len(texts), 256):
        ids = tokenizer(texts[start : start + 256], add_special_tokens=True, truncation=False)["input_ids"]
        total += sum(min(len(i), TOKEN_CAP) for i in ids)
    return total


def minilm_path() -> str:
    from kotaemon_like.embedders import resolve_model

    return resolve_model("all-MiniLM-L6-v2")


def run_naive(corpus: Path, work: Path) -> dict:
    import faiss
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    embed_model = HuggingFaceEmbedding(model_name=minilm_path())
    loaded = rss_mb()
    t0, c0 = time.perf_counter(), cpu_s()
    documents = SimpleDirectoryReader(str(corpus)).load_data()
    storage = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss.IndexFlatL2(384)))
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=512, chunk_overlap=50)],
    )
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    nodes = list(index.docstore.docs.values())
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    return {"seconds": seconds, "cpu_s": cpu, "chunks": len(nodes), "tokens": count_tokens(embed_model._model.tokenizer, texts),
            "rss_after_load_mb": loaded}


def read_pages(corpus: Path):
    import pymupdf

    from kotaemon_like.components import Document

    for path in sorted(corpus.iterdir()):
        with pymupdf.open(path) as pdf:
            for number, page in enumerate(pdf, start=1):
                text = page.get_text("text")
                if text.strip():
                    yield Document(text=text, source=path.name, page=number, sha256="")


def run_limit(corpus: Path, work: Path, backend: str) -> dict:
    from kotaemon_like.embedders import SentenceTransformerEmbedder
    from kotaemon_like.ingest.splitter import SentenceSplitter

    splitter = SentenceSplitter()
    if backend == "torch":  # the raw model, as a hand-written script would use it
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(minilm_path(), device="cpu")
        model.max_seq_length = TOKEN_CAP
        encode, tokenizer = (lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)), model.tokenizer
    else:
        embedder = SentenceTransformerEmbedder(SentenceTransformerEmbedder.Params(backend=backend))
        encode, tokenizer = embedder.embed_documents, embedder._tokenizer
    loaded = rss_mb()
    t0, c0 = time.perf_counter(), cpu_s()
    texts = [c.text for c in splitter.split(list(read_pages(corpus)))]
    vectors = encode(texts)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    assert len(vectors) == len(texts)
    return {"seconds": seconds, "cpu_s": cpu, "chunks": len(texts), "tokens": count_tokens(tokenizer, texts), "rss_after_load_mb": loaded}


def open_kb(config: str, corpus: Path, index: Path, backend: str | None):
    from kotaemon_like import registry
    from kotaemon_like.config import PartSpec

    settings = registry.load(config)
    settings = settings.model_copy(update={"paths": settings.paths.model_copy(update={"knowledge": corpus, "index": index})})
    if backend:
        spec = settings.embedder
        settings = settings.model_copy(update={"embedder": PartSpec(type=spec.type, params={**spec.params, "backend": backend})})
    kb = registry.build_knowledge_base(settings)
    return kb, registry.build_indexer(kb)


def run_kotaemon(corpus: Path, work: Path, config: str, backend: str | None) -> dict:
    kb, indexer = open_kb(config, corpus, work / "index", backend)
    loaded = rss_mb()
    t0, c0 = time.perf_counter(), cpu_s()
    report = indexer.sync()
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    texts = [c.text for chunks, _ in kb.vector_store.scan() for c in chunks]
    row = {"seconds": seconds, "cpu_s": cpu, "chunks": report.embedded_chunks, "tokens": count_tokens(kb.embedder._tokenizer, texts),
           "rss_after_load_mb": loaded, "failed": report.count("failed"), "embedder": kb.embedder.name}
    kb.close()
    return row


def run_incremental(corpus: Path, work: Path, config: str, backend: str | None) -> dict:
    """Index a folder of tiny files, then time plan() + sync() on it unchanged, and after touching every file."""
    kb, indexer = open_kb(config, corpus, work / "index", backend)
    first = indexer.sync()
    timings = {}
    for case in ("unchanged", "touched"):
        if case == "touched":
            for path in corpus.iterdir():
                os.utime(path)
        t0, c0 = time.perf_counter(), cpu_s()
        report = indexer.sync(plan=indexer.plan())
        timings[case] = {"seconds": time.perf_counter() - t0, "cpu_s": cpu_s() - c0, "embedded": report.embedded_chunks,
                         "unchanged": report.count("unchanged")}
        assert report.embedded_chunks == 0
    kb.close()
    return {"files": first.count("new"), "first_sync_s": first.seconds, **timings}


def run_memory(corpus: Path, work: Path, config: str, backend: str | None) -> dict:
    row = run_kotaemon(corpus, work, config, backend)
    row["files"] = len(list(corpus.iterdir()))
    return row


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(args) -> None:
    import logging

    logging.disable(logging.WARNING)  # llama-index and pypdf are chatty about odd PDFs
    corpus, work = Path(args.corpus), Path(args.work)
    name = args.child
    if name == "naive_llamaindex":
        row = run_naive(corpus, work)
    elif name == "limit":
        row = run_limit(corpus, work, "torch")
    elif name == "limit_fastest":
        row = run_limit(corpus, work, args.fast_backend)
    elif name == "default":
        row = run_kotaemon(corpus, work, args.config, None)
    elif name == "fastest":
        row = run_kotaemon(corpus, work, args.config, args.fast_backend)
    elif name == "incremental":
        row = run_incremental(corpus, work, args.config, args.fast_backend)
    elif name == "memory":
        row = run_memory(corpus, work, args.config, args.fast_backend)
    else:
        raise SystemExit(f"unknown pipeline {name}")
    row["peak_rss_mb"] = rss_mb()
    print(MARK + json.dumps(row), flush=True)


# ---------------------------------------------------------------- the parent


def spawn(name: str, corpus: Path, args) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"kl-ingest-{name}-") as work:
        cmd = [sys.executable, __file__, "--child", name, "--corpus", str(corpus), "--work", work,
               "--config", args.config, "--fast-backend", args.fast_backend]
        load = os.getloadavg()[0]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in proc.stdout.splitlines() if l.startswith(MARK)]
        if proc.returncode or not lines:
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit(f"pipeline {name} failed (exit {proc.returncode})")
        row = json.loads(lines[-1][len(MARK):])
        row["load_avg_1m"] = round(load, 2)
        return row


def summarize(name: str, runs: list[dict], pages: int) -> dict:
    def med(key):
        return statistics.median(r[key] for r in runs)

    per_run = [pages / r["seconds"] for r in runs]
    row = {
        "pipeline": name,
        "pages_per_s": round(statistics.median(per_run), 2),
        "chunks_per_s": round(statistics.median(r["chunks"] / r["seconds"] for r in runs), 2),
        "tokens_per_s": round(statistics.median(r["tokens"] / r["seconds"] for r in runs)),
        "peak_rss_mb": round(med("peak_rss_mb")),
        "seconds": round(med("seconds"), 1),
        "cpu_s": round(med("cpu_s"), 1),
        "chunks": runs[0]["chunks"],
        "tokens": runs[0]["tokens"],
        "rss_after_load_mb": round(med("rss_after_load_mb")),
        "runs": len(runs),
        "pages_per_s_runs": [round(x, 2) for x in per_run],
        "spread_pct": round(100 * (max(per_run) - min(per_run)) / statistics.median(per_run), 1),
    }
    if "embedder" in runs[0]:
        row["embedder"] = runs[0]["embedder"]
    return row


def paired(rows: dict[str, list[dict]], base: str, other: str) -> dict:
    """pages/s of `other` over `base`: from the medians, and per round (same round = similar machine load)."""
    ratios = [t["seconds"] / b["seconds"] for t, b in zip(rows[base], rows[other])]
    med = statistics.median(r["seconds"] for r in rows[base]) / statistics.median(r["seconds"] for r in rows[other])
    return {"median": round(med, 3), "per_round": [round(r, 3) for r in ratios]}


def write_markdown(out: Path, result: dict) -> None:
    rows, ratios = result["pipelines"], result["ratios"]
    lines = [
        "# Ingestion benchmark",
        "",
        f"`{result['command']}` on {result['machine']['cpus']} cores; corpus: {result['corpus']['files']} PDFs, "
        f"{result['corpus']['pages']} pages (the shared PDFs + {result['corpus']['big_pdf_pages']} real debian-faq pages in one file). "
        f"Medians of {rows[0]['runs']} interleaved runs; load average during the runs {result['machine']['load_avg_min']}-{result['machine']['load_avg_max']} "
        "(other jobs shared the machine).",
        "",
        "| pipeline | pages/s | chunks/s | tokens/s | peak RSS MB | s (median) | CPU s | chunks | spread of pages/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pipeline']}{' (' + r['embedder'] + ')' if r.get('embedder') else ''} | {r['pages_per_s']} | {r['chunks_per_s']} | "
            f"{r['tokens_per_s']} | {r['peak_rss_mb']} | {r['seconds']} | {r['cpu_s']} | {r['chunks']} | {r['spread_pct']}% |"
        )
    lines += ["", "| ratio (pages/s) | median | per round |", "|---|---:|---|"]
    for key, value in ratios.items():
        if isinstance(value, dict):
            lines.append(f"| {key} | {value['median']} | {', '.join(map(str, value['per_round']))} |")
    inc = result.get("incremental")
    if inc:
        lines += [
            "",
            f"**Incremental:** {inc['files']} tiny .md files indexed once ({inc['first_sync_s']:.1f} s), then `plan()` + `sync()` "
            f"on the unchanged folder took {inc['unchanged']['seconds'] * 1000:.0f} ms ({inc['unchanged']['cpu_s'] * 1000:.0f} ms CPU), "
            f"embedding {inc['unchanged']['embedded']} chunks; after touching every file (mtime changed, bytes not: each file hashed "
            f"once) {inc['touched']['seconds'] * 1000:.0f} ms, embedding {inc['touched']['embedded']}.",
        ]
    mem = result.get("memory")
    if mem:
        lines += ["", "**Memory** (kotaemon-like, `--fast-backend`, one process each):", "",
                  "| case | files | chunks | s | RSS after model load MB | peak RSS MB |", "|---|---:|---:|---:|---:|---:|"]
        for m in mem:
            lines.append(f"| {m['case']} | {m['files']} | {m['chunks']} | {m['seconds']:.1f} | {m['rss_after_load_mb']:.0f} | {m['peak_rss_mb']:.0f} |")
    lines += ["", *result.get("notes", [])]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config" / "default.yaml"), help="config for (c) and (d)")
    parser.add_argument("--fast-backend", default="onnx-int8", help="embedder.backend for (d)")
    parser.add_argument("--quick", action="store_true", help="1 run, smaller corpus and cases (a smoke test)")
    parser.add_argument("--with-fast-limit", action="store_true", help="also run the limit with the fast backend (e)")
    parser.add_argument("--runs", type=int, help="interleaved runs per pipeline (default 3, --quick 1)")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/ingest.json; --quick: none)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    runs = args.runs or (1 if args.quick else 3)
    big_pages, notes, memory_pages, memory_files = (20, 200, 100, 500) if args.quick else (250, 1000, 1000, 10000)
    out = args.out or (None if args.quick else ROOT / "bench" / "results" / "ingest.json")
    started = time.perf_counter()
    names = ["naive_llamaindex", "limit", "default", "fastest"] + (["limit_fastest"] if args.with_fast_limit else [])
    with tempfile.TemporaryDirectory(prefix="kl-ingest-") as tmp:
        tmp = Path(tmp)
        corpus = make_corpus(tmp / "corpus", big_pages, args.quick)
        # export the fast backend's model once, outside every timing (it is cached on disk)
        from kotaemon_like.embedders import SentenceTransformerEmbedder

        if args.fast_backend.startswith("onnx"):
            SentenceTransformerEmbedder(SentenceTransformerEmbedder.Params(backend=args.fast_backend))
        rows: dict[str, list[dict]] = {n: [] for n in names}
        loads = []
        for round_ in range(runs):
            for name in names:
                row = spawn(name, tmp / "corpus", args)
                loads.append(row["load_avg_1m"])
                rows[name].append(row)
                print(f"  round {round_ + 1}/{runs} {name}: {row['seconds']:.1f}s, load {row['load_avg_1m']}", file=sys.stderr, flush=True)
        summary = [summarize(n, rows[n], corpus["pages"]) for n in names]
        for row in summary:
            print(json.dumps({k: row[k] for k in ("pipeline", "pages_per_s", "chunks_per_s", "tokens_per_s", "peak_rss_mb")}), flush=True)
        ratios = {
            "c_over_a": paired(rows, "naive_llamaindex", "default"),
            "c_over_b": paired(rows, "limit", "default"),
            "d_over_a": paired(rows, "naive_llamaindex", "fastest"),
        }
        if args.with_fast_limit:
            ratios["d_over_e"] = paired(rows, "limit_fastest", "fastest")
        print(json.dumps({k: v["median"] for k, v in ratios.items()}), flush=True)

        make_notes(tmp / "notes", notes)
        inc = spawn("incremental", tmp / "notes", args)
        print(json.dumps({"incremental": inc}), flush=True)

        memory = []
        for case, maker in (
            (f"{memory_pages}-page PDF", lambda d: make_pdf(d / "big.pdf", memory_pages, [PDFS / n for n in (
                "debian-faq.en.pdf", "federal-register-2020-17221.pdf", "redp5110_sampled.pdf", "MTRAG-UN-arxiv.pdf")])),
            (f"{memory_files} small files", lambda d: make_notes(d, memory_files)),
        ):
            folder = tmp / f"memory-{len(memory)}"
            folder.mkdir()
            maker(folder)
            row = spawn("memory", folder, args)
            row["case"] = case
            memory.append(row)
            print(json.dumps({"memory": case, "chunks": row["chunks"], "seconds": round(row["seconds"], 1),
                              "rss_after_load_mb": round(row["rss_after_load_mb"]), "peak_rss_mb": round(row["peak_rss_mb"])}), flush=True)

    result = {
        "command": "python bench/ingest.py" + (" --quick" if args.quick else "") + (" --with-fast-limit" if args.with_fast_limit else ""),
        "machine": {"cpus": os.cpu_count(), "load_avg_min": min(loads), "load_avg_max": max(loads)},
        "corpus": corpus,
        "fast_backend": args.fast_backend,
        "pipelines": summary,
        "ratios": ratios,
        "incremental": inc,
        "memory": memory,
        "total_s": round(time.perf_counter() - started),
    }
    print(f"total {result['total_s']} s", file=sys.stderr)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        write_markdown(out.with_suffix(".md"), result)


if __name__ == "__main__":
    main()
