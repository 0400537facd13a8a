"""Section continuation on the real Debian FAQ, chunked by the real splitter: an answer cut at a chunk
boundary is carried on into the next chunk (same page or the next page), with exact citations."""

from __future__ import annotations

import pytest

from kotaemon_like.components import ScoredChunk
from kotaemon_like.generators.extractive import ExtractiveGenerator
from kotaemon_like.ingest.loaders import PdfLoader
from kotaemon_like.ingest.splitter import SentenceSplitter
from kotaemon_like.retrievers.continuation import CONTINUES, SectionContinuation, starts_section
from kotaemon_like.stores.keyword_sqlite import SqliteFtsKeywordIndex

pytestmark = pytest.mark.slow  # the splitter imports llama-index


@pytest.fixture(scope="module")
def faq_chunks(pdfs):
    """Pages 39-41 and 50-51 of the Debian FAQ as the default config indexes them."""
    docs = [d for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf") if d.page in (39, 40, 41, 50, 51)]
    chunks = SentenceSplitter().split(docs)
    index = SqliteFtsKeywordIndex(SqliteFtsKeywordIndex.Params(file=":memory:"))
    index.upsert(chunks)
    yield index, {c.id: c for c in chunks}
    index.close()


def hit(chunks, chunk_id: str, relevance: float = 0.7) -> ScoredChunk:
    return ScoredChunk(chunks[chunk_id], relevance, relevance)


def answer(sources, question: str, embedder=None) -> tuple[str, list[ScoredChunk]]:
    text = "".join(ExtractiveGenerator(embedder=embedder).stream(question, sources))
    return text, sources


def test_the_hold_entry_is_cut_where_the_commands_start(faq_chunks):
    index, chunks = faq_chunks
    first, second = chunks["faq.pdf#p40:0"].text, chunks["faq.pdf#p40:1"].text
    assert "How do I put a package on hold?" in first and "apt-mark hold" not in first
    assert "apt-mark hold" in second and not starts_section(second)
    assert [c.id for c in index.pages("faq.pdf", 40, 40)][:2] == ["faq.pdf#p40:0", "faq.pdf#p40:1"]


def test_continuation_adds_the_next_chunk_of_the_section(faq_chunks):
    index, chunks = faq_chunks
    expanded = SectionContinuation(index, max_chunks=1).expand([hit(chunks, "faq.pdf#p40:0")])
    assert [s.chunk.id for s in expanded] == ["faq.pdf#p40:0", "faq.pdf#p40:1"]
    assert expanded[1].chunk.metadata[CONTINUES] == "faq.pdf#p40:0"
    assert expanded[1].relevance == 0.7  # it answers as well as the chunk it continues
    assert SectionContinuation(index, max_chunks=0).expand([hit(chunks, "faq.pdf#p40:0")]) == [hit(chunks, "faq.pdf#p40:0")]


def test_continuation_crosses_the_page_and_stops_at_the_next_heading(faq_chunks):
    index, chunks = faq_chunks
    last_on_50 = max((c for c in chunks.values() if c.page == 50), key=lambda c: int(c.id.rpartition(":")[2]))
    following = SectionContinuation(index, max_chunks=3).following(last_on_50)
    assert following and following[0].id == "faq.pdf#p51:0"
    assert all(not starts_section(c.text) for c in following)
    after = [c for c in index.pages("faq.pdf", 51, 51) if c.id not in {f.id for f in following}]
    assert not after or len(following) == 3 or starts_section(after[0].text)


def test_heading_matched_answer_reaches_into_the_continuation(faq_chunks):
    index, chunks = faq_chunks
    question = "How do I put a package on hold?"
    alone, _ = answer([hit(chunks, "faq.pdf#p40:0")], question)
    assert "apt-mark hold" not in alone and "aptitude hold" not in alone  # the cut answer misses the commands
    sources = SectionContinuation(index, max_chunks=1).expand([hit(chunks, "faq.pdf#p40:0")])
    continued, _ = answer(sources, question)
    assert continued.startswith("There are three ways of holding back packages")
    # the commands are quoted and cited to the continuation chunk (source 2, page 40)
    assert "apt-mark hold" in continued or "aptitude hold" in continued
    assert "[2]" in continued and sources[1].chunk.page == 40
    assert "How do I install a source package" not in continued  # the next FAQ entry is not part of it


def test_continuation_retrieved_above_its_start_is_read_under_its_heading(faq_chunks):
    # the entry's second chunk ranks first: it is marked as carrying on the first, and the answer opens
    # with the entry's first sentence, in reading order
    index, chunks = faq_chunks
    sources = SectionContinuation(index, max_chunks=1).expand([hit(chunks, "faq.pdf#p40:1"), hit(chunks, "faq.pdf#p40:0")])
    ids = [s.chunk.id for s in sources]
    assert ids[0] == "faq.pdf#p40:1" and ids[-1] == "faq.pdf#p40:0"
    assert sources[0].chunk.metadata[CONTINUES] == "faq.pdf#p40:0"
    text, _ = answer(sources, "How do I put a package on hold?")
    assert text.startswith("There are three ways of holding back packages, with dpkg, apt or aptitude. [3]")
    assert "apt-mark hold" in text and "[1]" in text
