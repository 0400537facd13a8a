"""Answer sentences that run over the edges of a chunk, a page or a text column, on real PDF text: a sentence
cut by a page break is finished with the next chunk's words, a chunk that carries on another source is read
under that source's heading, a year on its own line is no section number, and a sentence that refers back is
quoted with the one before it."""

from __future__ import annotations

import pytest

from kotaemon_like.components import Chunk, ScoredChunk
from kotaemon_like.generators.extractive import ExtractiveGenerator
from kotaemon_like.generators.passages import carry_over, sections, split_sentences, strip_overlap
from kotaemon_like.ingest.loaders import PdfLoader
from kotaemon_like.retrievers.continuation import CONTINUES, SectionContinuation


@pytest.fixture(scope="module")
def faq(pdfs) -> dict[int, str]:
    return {d.page: d.text for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf")}


@pytest.fixture(scope="module")
def faq_index(pdfs):
    """Pages 9-10 and 29-30 of the Debian FAQ, chunked by the default splitter, in a keyword index."""
    from kotaemon_like.ingest.splitter import SentenceSplitter
    from kotaemon_like.stores.keyword_sqlite import SqliteFtsKeywordIndex

    docs = [d for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf") if d.page in (9, 10, 29, 30)]
    chunks = SentenceSplitter().split(docs)
    index = SqliteFtsKeywordIndex(SqliteFtsKeywordIndex.Params(file=":memory:"))
    index.upsert(chunks)
    yield index, chunks
    index.close()


def hit(chunk: Chunk, relevance: float = 0.7) -> ScoredChunk:
    return ScoredChunk(chunk, relevance, relevance)


def containing(chunks: list[Chunk], text: str) -> Chunk:
    return next(c for c in chunks if text in c.text)


def test_a_year_on_its_own_line_carries_the_sentence_on(pdfs):
    # a narrow column wraps "… by September 21," before "2020.": not a section number opening a heading
    page = PdfLoader().load(str(pdfs / "federal-register-2020-17221.pdf"), "fr.pdf")[0].text
    parts = sections(page)
    quoted = [s for part in parts for s in part.sentences]
    assert any(s.endswith("comments on this proposed AD by September 21, 2020.") for s in quoted)
    assert not any(part.heading.startswith(("ADDRESSES", "and 11.45")) for part in parts)


def test_a_long_run_is_cut_where_a_sentence_ends(faq):
    # the script list runs over the sentence limit: it is cut after "script).", not inside "once foo has been"
    quoted = [s for part in sections(faq[37]) for s in part.sentences]
    assert any(s.startswith("postinst This script") and s.endswith("once foo has been unpacked from its "
                                                                   "Debian archive (”.deb”) file.") for s in quoted)


def test_overlap_and_a_cut_sentence_are_joined():
    first = "Currently all control files are kept. The files\nrelevant to package foo begin with"
    second = "The files\nrelevant to package foo begin with the name foo. Next one."
    rest = strip_overlap(first, second)
    assert rest == "the name foo. Next one."
    assert carry_over(first, rest) == ("the name foo.", "Next one.")
    assert carry_over("It is finished (really.)", "Next one.") == ("", "Next one.")


def test_a_page_foot_or_a_title_ends_the_sentence_nothing_is_carried_over():
    """The demo manual's first page ends with its foot "Page 1 of 2" and the next opens with the title "除垢":
    the descaling sentence belongs to page 2 and is quoted from there, not glued to page 1's last line."""
    page_two = "除垢\n除垢指示灯变为橙色时，需要为咖啡机除垢：硬水约每 2 个月一次。请在指示灯"
    assert carry_over("3. 指示灯常亮后，先空冲两杯清水，并打开蒸汽棒排气 10 秒。\nPage 1 of 2", page_two) == ("", page_two)
    assert carry_over("3. 指示灯常亮后，先空冲两杯清水", page_two) == ("", page_two)  # cut, but page 2 opens a section
    assert carry_over("runs the program\n- 7 -", "and exits. More.") == ("", "and exits. More.")
    assert carry_over("comments on this proposed AD by September 21,", "2020.\nADDRESSES: x") == ("2020.", "ADDRESSES: x")


@pytest.mark.slow
def test_a_sentence_cut_by_the_page_break_is_finished_from_the_next_page(faq_index):
    index, chunks = faq_index
    last_on_9 = max((c for c in chunks if c.page == 9), key=lambda c: int(c.id.rpartition(":")[2]))
    assert last_on_9.text.rstrip().endswith("we are referring")
    sources = SectionContinuation(index, max_chunks=1).expand([hit(last_on_9)])
    assert [s.chunk.page for s in sources] == [9, 10] and sources[1].chunk.metadata[CONTINUES] == last_on_9.id
    found, _ = ExtractiveGenerator().candidates("what does free software mean", sources)
    whole = [c for c in found if c.text.endswith("we are referring to freedom, not price.")]
    assert whole and whole[0].number == 1  # cited to the page the sentence starts on
    assert not any(c.text.startswith("to freedom") for c in found)


@pytest.mark.slow
def test_sources_retrieved_apart_are_read_as_one_section(faq_index, embedder):
    # the codename list runs from page 29 onto page 30; "bullseye … Woody’s wooden toyhorse" is two chunks on
    question = "bullseye is named after which toy story character?"
    index, chunks = faq_index
    start = max((c for c in chunks if c.page == 29), key=lambda c: int(c.id.rpartition(":")[2]))
    assert "• hamm (Debian 2.0) was the piggy bank" in start.text
    on_30 = sorted((c for c in chunks if c.page == 30), key=lambda c: int(c.id.rpartition(":")[2]))
    bullseye = containing(on_30, "bullseye (Debian 11)")
    assert bullseye.id != on_30[0].id
    hits = [hit(containing(chunks, "Where do these codenames come from?")), hit(bullseye), hit(on_30[0])]
    sources = SectionContinuation(index, max_chunks=1).expand(hits)
    marked = {s.chunk.id: s.chunk.metadata.get(CONTINUES) for s in sources}
    assert marked[bullseye.id] == on_30[0].id and marked[on_30[0].id] == start.id
    generator = ExtractiveGenerator(embedder=embedder)
    found, _ = generator.candidates(question, sources)
    assert next(c for c in found if "bullseye (Debian 11)" in c.text).heading == "Where do these codenames come from?"
    assert "Woody’s wooden toyhorse" in "".join(generator.stream(question, sources))
    assert "Woody’s wooden toyhorse" not in "".join(generator.stream(question, hits))  # read apart


@pytest.mark.slow
def test_a_sentence_that_refers_back_is_quoted_with_the_one_before(faq, embedder):
    text = faq[49][faq[49].index("Or you can use the redirector service") :][:600]
    two = ExtractiveGenerator.Params(max_sentences=2)  # room for the best sentence and one more
    answer = "".join(ExtractiveGenerator(two, embedder=embedder).stream(
        "what is httpredir.debian.org good for?", [ScoredChunk(Chunk("faq.pdf#p49:3", text, "faq.pdf", 49), 0.7, 0.7)]))
    assert "To take advantage of it use a source like this one" in answer
    assert "It uses the geographic location of the user" in answer


def test_a_command_in_capitals_is_quoted_and_a_numbered_title_is_a_heading(pdfs):
    page = next(d.text for d in PdfLoader().load(str(pdfs / "redp5110_sampled.pdf"), "redp.pdf") if d.page == 8)
    parts = sections(page)
    assert "Verifying function usage IDs for RCAC with the FUNCTION_USAGE view" in [p.heading for p in parts]
    quoted = [s for part in parts for s in part.sentences]
    assert any(s.endswith("manage RCAC rules: CHGFCNUSG FCNID(QIBM_DB_SECADM) USER(HBEDOYA) USAGE(*ALLOWED)")
               for s in quoted)


@pytest.mark.slow
def test_a_short_sentence_after_the_best_one_is_quoted_with_it(faq, embedder):
    # "Use apt-get instead." shares nothing with the question; it says what the closest sentence leaves open
    text = faq[50][faq[50].index("Note that aptitude is not the recommended tool") :][:700]
    question = "is aptitude the tool to move to the next debian release?"
    sources = [ScoredChunk(Chunk("faq.pdf#p50:3", text, "faq.pdf", 50), 0.7, 0.7)]
    two = ExtractiveGenerator.Params(max_sentences=2)  # room for the best sentence and one more
    answer = "".join(ExtractiveGenerator(two, embedder=embedder).stream(question, sources))
    assert answer.startswith("Note that aptitude is not the recommended tool") and "Use apt-get instead. [1]" in answer
    alone = ExtractiveGenerator(two.model_copy(update={"short_sentence": 0}), embedder=embedder)
    assert "Use apt-get instead" not in "".join(alone.stream(question, sources))


@pytest.mark.parametrize("text, expected", [
    # a stop after an abbreviation ends no sentence
    ("potato (Debian 2.2) was, of course, Mr. Potato Head. The next one was slink.",
     ["potato (Debian 2.2) was, of course, Mr. Potato Head.", "The next one was slink."]),
    ("Include ‘‘Docket No. FAA–2020–0746’’ at the beginning of your comments. Send one copy.",
     ["Include ‘‘Docket No. FAA–2020–0746’’ at the beginning of your comments.", "Send one copy."]),
    # a list item keeps its number, and the sentence announcing the list keeps its first item
    ("Here is an example of using the function:\n1. There are user profiles for MGR and JANE.\n2. JANE is in MGR.",
     ["Here is an example of using the function: 1. There are user profiles for MGR and JANE.", "2. JANE is in MGR."]),
    ("It ends here. Then another starts.", ["It ends here.", "Then another starts."]),
])
def test_a_sentence_ends_at_its_stop_not_at_an_abbreviation_or_a_list_number(text, expected):
    assert split_sentences(text) == expected


def test_the_toy_story_answer_is_quoted_whole(faq):
    quoted = [s for part in sections(faq[30]) for s in part.sentences]
    assert "• potato (Debian 2.2) was, of course, Mr. Potato," in quoted


def test_a_sentence_cut_before_an_abbreviation_is_finished_past_it():
    head, rest = carry_over("• potato (Debian 2.2) was, of course,", "Mr. Potato, the toy. • woody was the cowboy.")
    assert (head, rest) == ("Mr. Potato, the toy.", "• woody was the cowboy.")
