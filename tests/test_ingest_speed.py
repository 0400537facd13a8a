"""The fast ingestion paths give the same index: backends, cross-file batches, the loader thread, streaming.

No timings here (those live in bench/ingest.py): only that speed changed nothing a user can see.
"""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pymupdf
import pytest

from kotaemon_like import registry
from kotaemon_like.components import Document
from kotaemon_like.embedders import SentenceTransformerEmbedder
from kotaemon_like.ingest.batching import IN_PROGRESS
from kotaemon_like.ingest.loaders import LoadError, PdfLoader
from kotaemon_like.ingest.manifest import Manifest
from kotaemon_like.ingest.pipeline import Indexer
from kotaemon_like.ingest.splitter import SentenceSplitter
from kotaemon_like.ingest.streaming import iter_documents

from .conftest import write_config
from .sample_pdfs import CHINESE, ENGLISH, SCANNED, write_cut_short, write_english

QUESTIONS = [
    "How do I upgrade Debian to a new release?",
    "Which aircraft does the airworthiness directive apply to?",
    "Can I return an unused item for a refund?",
    "化学方程式",
]


# ---------------------------------------------------------------- streaming loader (no model)


def streamed_equals_loaded(path, name):
    loader = PdfLoader(PdfLoader.Params(ocr="off"))  # text layers only: OCR has its own tests
    loaded = loader.load(str(path), name)
    streamed = iter_documents(loader, str(path), name)
    assert not isinstance(streamed, list)  # a generator: pages are read when asked for
    assert list(streamed) == loaded


@pytest.mark.parametrize("name", [ENGLISH, SCANNED, CHINESE])
def test_streamed_pdf_pages_equal_loaded_pages(sample_pdfs, name):
    streamed_equals_loaded(sample_pdfs / name, name)


@pytest.mark.parametrize("name", ["federal-register-2020-17221.pdf", "normal_4pages_ko.pdf"])
def test_streamed_real_pdf_pages_equal_loaded_pages(pdfs, name):
    streamed_equals_loaded(pdfs / name, name)


def test_streamed_pdf_refuses_what_load_refuses(sample_pdfs, tmp_path):
    write_cut_short(sample_pdfs / ENGLISH, tmp_path / "cut.pdf")
    with pymupdf.open(sample_pdfs / SCANNED) as src, pymupdf.open() as out:
        out.insert_pdf(src, from_page=0, to_page=2)
        out.save(tmp_path / "scan.pdf")
    (tmp_path / "empty.pdf").write_bytes(b"")
    loader = PdfLoader(PdfLoader.Params(ocr="off"))
    for bad in ("cut.pdf", "scan.pdf", "empty.pdf"):
        with pytest.raises(LoadError) as streamed:
            list(iter_documents(loader, str(tmp_path / bad), bad))
        with pytest.raises(LoadError) as loaded:
            loader.load(str(tmp_path / bad), bad)
        # the same sentence; only MuPDF's own detail may differ (it names the file when reading from disk)
        assert str(streamed.value).split(": ")[0] == str(loaded.value).split(": ")[0]


# ---------------------------------------------------------------- backends


@pytest.fixture(scope="session")
def embedder():
    """fp32, the reference: its vectors do not depend on their batch-mates, and the paths compared here batch differently."""
    return SentenceTransformerEmbedder(SentenceTransformerEmbedder.Params(backend="torch"))


@pytest.fixture(scope="session")
def onnx_cache():
    """The cache every `kl` command uses: a model exported here is exported once per machine, not per session."""
    return ""


@pytest.fixture(scope="session")
def sample_texts(pdfs):
    docs = PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf")[:6]
    docs += PdfLoader().load(str(pdfs / "federal-register-2020-17221.pdf"), "federal.pdf")[:3]
    docs.append(Document(text="Unused items can be returned within 30 days for a full refund.", source="r.md", page=1, sha256=""))
    docs += PdfLoader().load(str(pdfs / "mineru_intro_zh.pdf"), "zh.pdf")
    return [c.text for c in SentenceSplitter().split(docs)]


def ranking(embedder, texts, k=3):
    docs = embedder.embed_documents(texts)
    return [list(np.argsort(-(docs @ embedder.embed_query(q)))[:k]) for q in QUESTIONS], docs


@pytest.mark.slow
# int8 activations are quantized with one scale per batch, so an int8 vector also depends on its batch-mates
@pytest.mark.parametrize("backend, min_cosine, mean_cosine", [
    ("torch-bf16", 0.9999, 0.9999), ("onnx", 0.99999, 0.99999), ("onnx-int8", 0.95, 0.985),
])
def test_backends_embed_like_fp32(embedder, sample_texts, onnx_cache, backend, min_cosine, mean_cosine):
    fast = SentenceTransformerEmbedder(SentenceTransformerEmbedder.Params(backend=backend, cache_dir=onnx_cache))
    assert fast.dim == embedder.dim
    # only a backend whose vectors really differ gets its own name (an index refuses to mix them)
    assert fast.name == ("all-MiniLM-L6-v2+int8" if backend == "onnx-int8" else embedder.name)
    reference, ref_vectors = ranking(embedder, sample_texts)
    got, vectors = ranking(fast, sample_texts)
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    cosine = (vectors * ref_vectors).sum(1)
    assert float(cosine.min()) >= min_cosine and float(cosine.mean()) >= mean_cosine
    if backend == "onnx-int8":
        assert all(g[0] in r for g, r in zip(got, reference))  # the best hit is still among fp32's top 3
    else:
        assert got == reference


@pytest.mark.slow
def test_onnx_export_says_what_it_does_once_then_is_cached(tmp_path, caplog):
    from kotaemon_like.embedders import export_onnx, resolve_model

    model, cache = resolve_model("all-MiniLM-L6-v2"), str(tmp_path / "fresh-cache")
    with caplog.at_level(logging.WARNING, logger="kotaemon_like.embedders"):
        first = export_onnx(model, quantize=False, cache_dir=cache, label="all-MiniLM-L6-v2")
    steps = [r.getMessage() for r in caplog.records if r.name == "kotaemon_like.embedders"]
    # the first start pauses for the export: it must say so as it goes, not sit silent
    assert "exporting all-MiniLM-L6-v2 to ONNX, once" in steps[0] and "step 1/2" in steps[0]
    assert "step 2/2" in steps[1] and steps[-1].startswith("embedder: ONNX model ready in ")
    caplog.clear()
    mtime = first.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="kotaemon_like.embedders"):
        again = export_onnx(model, quantize=False, cache_dir=cache, label="all-MiniLM-L6-v2")
    assert again == first and again.stat().st_mtime_ns == mtime and not caplog.records


# ---------------------------------------------------------------- the pipeline


class HalfBrokenLoader:
    """A real loader for `.brk` files that yields its first page, then finds the file damaged."""

    suffixes = (".brk",)

    def load(self, path, source):
        return list(self.iter_load(path, source))

    def iter_load(self, path, source):
        text = open(path, encoding="utf-8").read()
        yield Document(text=text, source=source, page=1, sha256="x")
        raise LoadError("damaged after page 1")


class FailingEmbedder:
    """The real embedder, until the `fail_on`-th call: then the process 'crashes'."""

    def __init__(self, inner, fail_on):
        self.inner, self.fail_on, self.calls = inner, fail_on, 0
        self.name, self.dim, self.batch_size = inner.name, inner.dim, inner.batch_size

    def embed_documents(self, texts):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("killed mid-run")
        return self.inner.embed_documents(texts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def fill(folder, sample_pdfs):
    shutil.copy(sample_pdfs / ENGLISH, folder / ENGLISH)
    shutil.copy(sample_pdfs / CHINESE, folder / "说明 文档.pdf")
    (folder / "faq").mkdir(exist_ok=True)
    for i in range(12):
        (folder / "faq" / f"q{i:02d}.md").write_text(f"# Question {i}\n\nOrders of type {i} ship within {i % 5 + 1} days.\n")
    (folder / "empty.md").write_text("")


def open_indexer(workdir, embedder, extra_loaders=(), **kw):
    settings = registry.load(write_config(workdir))
    kb = registry.build_knowledge_base(settings)
    kb.embedder = embedder
    indexer = Indexer(
        settings.paths.knowledge, [*kb.loaders, *extra_loaders], kb.splitter, embedder, kb.vector_store,
        kb.keyword_index, Manifest(settings.paths.index), **kw,
    )
    return kb, indexer


def snapshot(kb, indexer):
    vectors = {c.id: (c, v) for chunks, vs in kb.vector_store.scan() for c, v in zip(chunks, vs)}
    records = {s: (r.status, r.chunks, r.sha256, r.error) for s, r in indexer.manifest.all().items()}
    return vectors, records, kb.keyword_index.sources()


def same_index(a, b):
    (va, ra, ka), (vb, rb, kb_) = a, b
    assert ra == rb and ka == kb_ and va.keys() == vb.keys()
    for cid, (chunk, vector) in va.items():
        assert vb[cid][0] == chunk
        assert np.allclose(vb[cid][1], vector, atol=1e-4)


@pytest.mark.slow
def test_pipelined_sync_builds_the_same_index_as_the_sequential_path(tmp_path, sample_pdfs, embedder):
    states, summaries = [], []
    for name, kw in (("seq", {"prefetch": False, "batch_texts": 1000}), ("pipe", {"prefetch": True, "batch_texts": 40})):
        workdir = tmp_path / name
        (workdir / "data" / "knowledge").mkdir(parents=True)
        (workdir / "config").mkdir()
        fill(workdir / "data" / "knowledge", sample_pdfs)
        kb, indexer = open_indexer(workdir, embedder, **kw)
        progress = []
        report = indexer.sync(on_progress=progress.append)
        assert sorted(r.source for r in progress) == sorted(r.source for r in report.results if r.action in ("new", "failed"))
        summaries.append((report.summary().rsplit(" in ", 1)[0], [(r.source, r.action, r.chunks, r.error) for r in report.results]))
        states.append(snapshot(kb, indexer))
        assert kb.vector_store.count() == kb.keyword_index.count() == report.embedded_chunks
        kb.close()
    assert summaries[0] == summaries[1]
    assert summaries[0][0].startswith("14 new, 0 changed, 0 unchanged, 0 deleted, 1 failed")
    same_index(*states)


@pytest.mark.slow
def test_a_file_failing_mid_batch_loses_no_other_file(workdir, sample_pdfs, embedder):
    folder = workdir / "data" / "knowledge"
    fill(folder, sample_pdfs)
    (folder / "m-broken.brk").write_text("Shipping to Norway takes five working days. " * 40)
    kb, indexer = open_indexer(workdir, embedder, [HalfBrokenLoader()], batch_texts=500)
    report = indexer.sync()
    by_source = {r.source: r for r in report.results}
    assert by_source["m-broken.brk"].action == "failed" and "damaged after page 1" in by_source["m-broken.brk"].error
    assert report.count("new") == 14
    assert "m-broken.brk" not in kb.keyword_index.sources()
    assert kb.vector_store.search(embedder.embed_query("shipping to Norway"), 50, {"source": "m-broken.brk"}) == []
    assert kb.vector_store.count() == kb.keyword_index.count() == report.embedded_chunks
    assert indexer.manifest.get("m-broken.brk").status == "failed"
    kb.close()


@pytest.mark.slow
def test_crash_mid_file_leaves_the_file_to_be_indexed_again(workdir, embedder):
    folder = workdir / "data" / "knowledge"
    write_english(folder / "long-policy.pdf", pages=24)
    crashing = FailingEmbedder(embedder, fail_on=2)
    kb, indexer = open_indexer(workdir, crashing, batch_texts=16)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        indexer.sync()
    # the first batch is stored whole and the second one's text, but the file is not in the manifest as
    # indexed: the next scan indexes it again
    record = indexer.manifest.get("long-policy.pdf")
    assert record.status == IN_PROGRESS and record.chunks == kb.vector_store.count() > 0
    assert kb.keyword_index.count() >= kb.vector_store.count() + 16  # the second batch: text only
    assert indexer.plan().changed == ["long-policy.pdf"]
    kb.close()

    # deleted before it was ever finished: its chunks still leave the stores
    (folder / "long-policy.pdf").unlink()
    kb, indexer = open_indexer(workdir, embedder)
    report = indexer.sync()
    assert report.count("deleted") == 1
    assert kb.vector_store.count() == kb.keyword_index.count() == 0
    assert indexer.manifest.all() == {}
    kb.close()


@pytest.mark.slow
def test_single_file_path_in_small_batches_matches_sync(tmp_path, sample_pdfs, embedder):
    states = []
    for name, kw in (("sync", {}), ("single", {"batch_texts": 8})):
        workdir = tmp_path / name
        (workdir / "data" / "knowledge").mkdir(parents=True)
        (workdir / "config").mkdir()
        shutil.copy(sample_pdfs / ENGLISH, workdir / "data" / "knowledge" / ENGLISH)
        (workdir / "data" / "knowledge" / "returns.md").write_text("Unused items can be returned within 30 days.\n")
        kb, indexer = open_indexer(workdir, embedder, **kw)
        if name == "sync":
            indexer.sync()
        else:
            results = [indexer.refresh(ENGLISH), indexer.refresh("returns.md")]
            assert [r.action for r in results] == ["new", "new"] and results[0].chunks > 8
            assert indexer.refresh("returns.md").action == "unchanged"
        states.append(snapshot(kb, indexer))
        kb.close()
    same_index(*states)
