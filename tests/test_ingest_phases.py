"""A file's text is searchable before its vectors are made: the keyword phase never waits for the model, the
first pages' vectors land before the last ones, and the manifest says `indexed` only when every vector is
stored. A crash between the phases, a changed file and a deleted one leave the stores exact; a customer's
question about a file still being embedded gets a cited answer (and no stale cached one)."""

from __future__ import annotations

import threading

import pytest

from kotaemon_like import registry
from kotaemon_like.chat import CitationEvent, DoneEvent, TokenEvent
from kotaemon_like.ingest.index_writer import IN_PROGRESS

from .conftest import wait_until, write_config
from .sample_pdfs import ENGLISH, write_english
from .test_ingest_speed import FailingEmbedder, open_indexer

pytestmark = pytest.mark.slow


class GatedEmbedder:
    """The real embedder, but each document batch waits until the test lets it through (`release`)."""

    def __init__(self, inner, batch_size: int):
        self.inner, self.batch_size = inner, batch_size
        self.name, self.dim = inner.name, inner.dim
        self.waiting = 0  # batches asked for so far
        self._allowed = threading.Semaphore(0)

    def embed_documents(self, texts):
        self.waiting += 1
        if not self._allowed.acquire(timeout=120):  # a test that forgot to release fails instead of hanging
            raise RuntimeError("embedding was never released")
        return self.inner.embed_documents(texts)

    def release(self, batches: int = 1) -> None:
        for _ in range(batches):
            self._allowed.release()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Indexing:
    """`indexer.refresh(source)` in a thread, as a worker runs it."""

    def __init__(self, indexer, source: str):
        self.result, self.error = None, None
        self._thread = threading.Thread(target=self._run, args=(indexer, source), daemon=True)
        self._thread.start()

    def _run(self, indexer, source):
        try:
            self.result = indexer.refresh(source)
        except BaseException as exc:  # re-raised in the test
            self.error = exc

    def join(self):
        self._thread.join(120)
        assert not self._thread.is_alive(), "indexing did not finish"
        if self.error:
            raise self.error
        return self.result


def split(kb, path, source):
    """The chunks the pipeline will make of `path`, in reading order."""
    loader = next(loader for loader in kb.loaders if path.suffix in loader.suffixes)
    return [c for document in loader.load(str(path), source) for c in kb.splitter.split([document])]


def vector_chunks(kb, source):
    return [c for chunks, _ in kb.vector_store.scan() for c in chunks if c.source == source]


def keyword_finds(kb, source, text) -> bool:
    return any(h.chunk.source == source and h.chunk.text == text for h in kb.keyword_index.search(text, 20, {"source": source}))


def test_text_is_searchable_before_its_vectors_and_the_first_pages_vectors_before_the_last(workdir, embedder):
    path = write_english(workdir / "data" / "knowledge" / ENGLISH, pages=12)
    gated = GatedEmbedder(embedder, batch_size=8)
    kb, indexer = open_indexer(workdir, gated)
    expected = split(kb, path, ENGLISH)
    assert len(expected) > 16 and expected[-1].page == 12
    run = Indexing(indexer, ENGLISH)
    try:
        # held by the model, yet every chunk, the last page's too, is found by its words
        wait_until(lambda: kb.keyword_index.sources().get(ENGLISH) == len(expected), 60, what="text searchable")
        assert keyword_finds(kb, ENGLISH, expected[-1].text)
        wait_until(lambda: gated.waiting == 1, 30, what="the first embedder batch to be asked for")
        assert kb.vector_store.count() == 0
        assert indexer.manifest.get(ENGLISH).status == IN_PROGRESS

        gated.release()  # one embedder batch: the first 8 chunks, in reading order
        record = wait_until(lambda: (r := indexer.manifest.get(ENGLISH)).chunks == 8 and r, 60, what="the first vectors stored")
        assert record.status == IN_PROGRESS and kb.vector_store.count() == 8
        assert sorted(c.id for c in vector_chunks(kb, ENGLISH)) == sorted(c.id for c in expected[:8])
        assert max(c.page for c in vector_chunks(kb, ENGLISH)) < 12
        assert indexer.plan().changed == [ENGLISH]  # a crash now would index it again
    finally:
        gated.release(100)
    result = run.join()
    assert result.action == "new" and result.chunks == len(expected)
    assert 0 < result.text_seconds < result.seconds
    record = indexer.manifest.get(ENGLISH)
    assert (record.status, record.chunks) == ("indexed", len(expected))
    assert kb.vector_store.count() == kb.keyword_index.count() == len(expected)
    kb.close()


def policy(days: int, lines: int = 60) -> str:
    return "\n".join(f"Clause {i}: unused items of range {i} may be returned within {days} days of delivery." for i in range(lines))


def test_a_changed_file_is_replaced_whole_in_both_phases(workdir, embedder):
    path = workdir / "data" / "knowledge" / "returns.md"
    path.write_text(policy(14))
    kb, indexer = open_indexer(workdir, embedder)
    assert indexer.refresh("returns.md").action == "new"
    old = kb.keyword_index.count()
    kb.close()

    path.write_text(policy(60, lines=40))
    gated = GatedEmbedder(embedder, batch_size=8)
    kb, indexer = open_indexer(workdir, gated)
    new = split(kb, path, "returns.md")
    run = Indexing(indexer, "returns.md")
    try:
        wait_until(lambda: keyword_finds(kb, "returns.md", new[-1].text), 60, what="the new text searchable")
        texts = [h.chunk.text for h in kb.keyword_index.search("returned within days", 100, {"source": "returns.md"})]
        assert texts and all("60 days" in t and "14 days" not in t for t in texts)
        assert kb.keyword_index.count() == len(new) < old
        assert vector_chunks(kb, "returns.md") == []  # the old vectors left with the old text
    finally:
        gated.release(100)
    assert run.join().action == "changed"
    stored = vector_chunks(kb, "returns.md")
    assert sorted(c.id for c in stored) == sorted(c.id for c in new)
    assert all("60 days" in c.text for c in stored)
    assert indexer.manifest.get("returns.md").chunks == kb.vector_store.count() == kb.keyword_index.count() == len(new)
    kb.close()


def test_a_crash_between_the_phases_is_indexed_again_or_removed_with_no_leftovers(workdir, embedder):
    folder = workdir / "data" / "knowledge"
    (folder / "kept.md").write_text(policy(30))
    (folder / "dropped.md").write_text(policy(45))
    kb, indexer = open_indexer(workdir, FailingEmbedder(embedder, fail_on=1))
    with pytest.raises(RuntimeError, match="killed mid-run"):
        indexer.sync()
    # both files' text went in, no vector did: both stay in progress
    assert kb.vector_store.count() == 0 and set(kb.keyword_index.sources()) == {"kept.md", "dropped.md"}
    assert {s: r.status for s, r in indexer.manifest.all().items()} == {"kept.md": IN_PROGRESS, "dropped.md": IN_PROGRESS}
    kb.close()

    (folder / "dropped.md").unlink()
    kb, indexer = open_indexer(workdir, embedder)
    report = indexer.sync()
    assert (report.count("changed"), report.count("deleted")) == (1, 1)
    record = indexer.manifest.get("kept.md")
    assert set(indexer.manifest.all()) == {"kept.md"} and record.status == "indexed"
    assert kb.keyword_index.sources() == {"kept.md": record.chunks}
    assert kb.vector_store.count() == record.chunks == len(split(kb, folder / "kept.md", "kept.md"))
    kb.close()


SHOP = {
    "shipping.md": "# Shipping\n\nOrders ship within two working days. Delivery is free above 50 euros.\n",
    "returns.md": "# Returns\n\nUnused items can be returned within 30 days for a full refund.\n",
    "warranty.md": "# Warranty\n\nEvery device has a two year warranty covering manufacturing defects.\n",
    "payments.md": "# Payments\n\nWe accept credit cards, bank transfer and invoices for business customers.\n",
}
GIFT_CARDS = "\n\n".join(
    [
        "# Gift cards\n\nA gift card is valid for five years from the day it was bought.",
        "A lost gift card can be blocked and replaced by our support team if you still have the receipt.",
        "Gift cards cannot be exchanged for cash, but several may be combined in one order.",
    ]
    + [f"# Store {i}\n\nThe store in district {i} opens at {8 + i % 3} in the morning on weekdays." for i in range(30)]
)


def ask(engine, question):
    events = list(engine.turn(question, session_id=f"s-{question}"))
    done = events[-1]
    assert isinstance(done, DoneEvent)
    return "".join(e.text for e in events if isinstance(e, TokenEvent)), [e for e in events if isinstance(e, CitationEvent)], done


def test_a_question_about_a_file_still_being_embedded_gets_a_cited_answer(workdir, embedder, sample_pdfs):
    import shutil

    folder = workdir / "data" / "knowledge"
    for name, text in SHOP.items():
        (folder / name).write_text(text)
    shutil.copy(sample_pdfs / ENGLISH, folder / ENGLISH)
    settings = registry.load(write_config(workdir))
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb).sync()
    engine = registry.build_chat(kb)
    question = "How long is a gift card valid?"
    _, cited, done = ask(engine, question)
    assert not any(c.source == "gift-cards.md" for c in cited)

    (folder / "gift-cards.md").write_text(GIFT_CARDS)
    gated = GatedEmbedder(kb.embedder, batch_size=8)
    indexer = registry.build_indexer(kb)  # the server's stores, as `kl serve` shares them with its worker
    indexer.embedder = gated
    run = Indexing(indexer, "gift-cards.md")
    try:
        wait_until(lambda: kb.keyword_index.sources().get("gift-cards.md"), 60, what="the gift card text searchable")
        assert kb.vector_store.count() == sum(kb.keyword_index.sources().values()) - kb.keyword_index.sources()["gift-cards.md"]
        text, cited, done = ask(engine, question)
        assert done.answered and not done.cached
        assert cited and cited[0].source == "gift-cards.md", [(c.source, c.snippet) for c in cited]
        assert "five years" in text
    finally:
        gated.release(100)
    assert run.join().action == "new"
    text, cited, done = ask(engine, question)
    assert cited[0].source == "gift-cards.md" and "five years" in text and not done.cached
    kb.close()


def test_a_worker_warms_up_before_its_first_job(workdir):
    from kotaemon_like.ingest_service import IngestService

    service = IngestService(registry.load(write_config(workdir)), watch=False, workers=1)
    splitter = service.indexer.splitter
    assert "_splitter" not in vars(splitter)  # llama-index is imported on first use, which costs seconds
    service.start()
    try:
        assert service.workers[0].ready.wait(120)
        assert "_splitter" in vars(splitter)  # done at start: the first file does not wait for it
    finally:
        service.stop()
