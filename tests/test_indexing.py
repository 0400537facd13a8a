"""Incremental indexing of a real folder: unchanged -> nothing embedded, changed -> replaced, deleted -> gone."""

from __future__ import annotations

import os
import shutil

import pymupdf
import pytest

from kotaemon_like import registry
from kotaemon_like.ingest.manifest import IndexMismatchError

from .conftest import write_config
from .sample_pdfs import CHINESE, ENGLISH, write_cut_short

pytestmark = pytest.mark.slow


class CountingEmbedder:
    """The real embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, 0
        self.name, self.dim = inner.name, inner.dim

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def open_indexer(config, embedder):
    settings = registry.load(config)
    kb = registry.build_knowledge_base(settings)
    kb.embedder = CountingEmbedder(embedder)
    return kb, registry.build_indexer(kb)


@pytest.fixture
def knowledge(workdir, sample_pdfs):
    folder = workdir / "data" / "knowledge"
    shutil.copy(sample_pdfs / ENGLISH, folder / ENGLISH)
    shutil.copy(sample_pdfs / CHINESE, folder / "说明 文档.pdf")  # spaces and unicode in the name
    (folder / "faq").mkdir()
    (folder / "faq" / "returns.md").write_text("# Returns\n\nUnused items can be returned within 30 days for a full refund.\n")
    return folder


def test_incremental_cycle(workdir, knowledge, embedder):
    config = write_config(workdir)
    kb, indexer = open_indexer(config, embedder)
    first = indexer.sync()
    assert first.count("new") == 3 and first.count("failed") == 0
    assert {r.source for r in first.results} == {ENGLISH, "说明 文档.pdf", "faq/returns.md"}
    total = kb.vector_store.count()
    assert total == kb.keyword_index.count() == first.embedded_chunks == kb.embedder.embedded

    # unchanged folder: nothing is embedded, even when a file is touched
    os.utime(knowledge / "faq" / "returns.md")
    kb.embedder.embedded = 0
    again = indexer.sync()
    assert again.count("unchanged") == 3 and kb.embedder.embedded == 0
    assert kb.vector_store.count() == total

    # changed file: old chunks replaced
    (knowledge / "faq" / "returns.md").write_text("# Returns\n\nReturns are accepted within 14 days, store credit only.\n")
    changed = indexer.sync()
    assert [r.source for r in changed.results if r.action == "changed"] == ["faq/returns.md"]
    texts = [h.chunk.text for h in kb.keyword_index.search("returned refund days", 10)]
    assert any("14 days" in t for t in texts) and not any("30 days" in t for t in texts)

    # deleted file: its chunks leave both stores and the manifest
    zh_chunks = kb.keyword_index.sources()["说明 文档.pdf"]
    (knowledge / "说明 文档.pdf").unlink()
    deleted = indexer.sync()
    assert deleted.count("deleted") == 1
    assert "说明 文档.pdf" not in kb.keyword_index.sources()
    assert kb.vector_store.count() == kb.keyword_index.count() == total - zh_chunks
    assert kb.vector_store.search(embedder.embed_query("化学方程式"), 50, {"source": "说明 文档.pdf"}) == []
    kb.close()

    # the index survives a restart: a fresh process sees the same state and embeds nothing
    kb2, indexer2 = open_indexer(config, embedder)
    assert kb2.vector_store.count() == total - zh_chunks
    assert indexer2.sync().count("unchanged") == 2 and kb2.embedder.embedded == 0
    kb2.close()


def test_bad_files_are_reported_and_never_stop_the_run(workdir, knowledge, embedder, sample_pdfs):
    (knowledge / "empty.pdf").write_bytes(b"")
    write_cut_short(sample_pdfs / ENGLISH, knowledge / "cut.pdf")
    with pymupdf.open(sample_pdfs / ENGLISH) as doc:
        doc.save(knowledge / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="pw2")
    with pymupdf.open() as out:  # blank pages (scanned ones are read by OCR: test_ocr.py)
        out.new_page()
        out.new_page()
        out.save(knowledge / "blank.pdf")
    (knowledge / "notes.docx").write_bytes(b"PK\x03\x04 not supported")
    (knowledge / "latin1.txt").write_bytes("Café opening hours: 9–17, Montag bis Freitag, geöffnet.".encode("cp1252"))
    (knowledge / "report.pdf.part").write_bytes(b"%PDF-1.7 still copying")
    kb, indexer = open_indexer(write_config(workdir), embedder)
    report = indexer.sync()
    by_source = {r.source: r for r in report.results}
    assert by_source["empty.pdf"].action == "failed" and "empty" in by_source["empty.pdf"].error
    assert "not a readable PDF" in by_source["cut.pdf"].error
    assert "password" in by_source["locked.pdf"].error
    assert "all 2 page(s) are blank" in by_source["blank.pdf"].error
    assert by_source["notes.docx"].action == "skipped" and "unsupported file type '.docx'" in by_source["notes.docx"].error
    assert by_source["latin1.txt"].action == "new"
    assert "report.pdf.part" not in by_source  # still being copied: not even looked at
    assert report.count("new") == 4  # the three good files + latin1.txt
    assert kb.vector_store.count() == kb.keyword_index.count() == report.embedded_chunks
    assert "4 new" in report.summary() and "4 failed" in report.summary() and "1 skipped" in report.summary()
    kb.close()


def test_embedder_mismatch_is_a_clear_error(workdir, knowledge, embedder):
    kb, indexer = open_indexer(write_config(workdir), embedder)
    indexer.sync()
    kb.close()
    from kotaemon_like.ingest.manifest import Manifest

    with pytest.raises(IndexMismatchError, match=r"built with embedder 'all-MiniLM-L6-v2\+int8' \(dim 384\).*kl reindex"):
        Manifest(workdir / "data" / "index").check_embedder("multilingual-e5-small", 384)
