"""What a question asks for (a count, an amount of money, a figure) and whether a sentence holds it, and the
answer sentence it picks on real PDF text."""

from __future__ import annotations

import pytest

from kotaemon_like.components import Chunk, ScoredChunk
from kotaemon_like.generators.answer_type import expected, figure, says_no
from kotaemon_like.generators.extractive import ExtractiveGenerator
from kotaemon_like.ingest.loaders import PdfLoader


def test_a_count_of_the_thing_asked_about():
    holds = expected("how many CPU architectures are supported?")
    assert holds("Debian runs on 9 architectures today.")
    assert holds("It supports 12 different architectures.")  # a word between the number and the noun
    assert not holds("Release 11 contains a distribution for the following architectures:")
    assert not holds("Version 2.2 added 3 kernels.")  # a number, but of something else


def test_an_amount_of_money_for_a_price_question():
    holds = expected("how much does the repair cost per car")
    assert holds("40 work-hours × $85 per hour = $3,400.") and holds("about 120 euros")
    assert not holds("The repair takes 40 work-hours.")


def test_questions_asking_for_no_count_or_amount():
    assert expected("how do I install a package?") is None
    assert expected("which package owns this file?") is None


def test_a_name_the_question_does_not_hold_answers_who():
    holds = expected("who wrote the linux faq that parts of this faq came from?")
    assert holds("The Linux FAQ was written by Ian Jackson and others.")
    assert not holds("The Linux FAQ is a good place to start.")  # capitals, but the question's own words
    assert not holds("Parts of this FAQ came from the Linux FAQ.")
    assert expected("who's the faa contact person for the pilatus AD?")("contact Doug Rudolph, Aerospace Engineer")


def test_a_question_asking_for_a_figure_needs_one_of_its_kind():
    memory = figure("how much memory do I need to install debian?")
    assert memory("At least 512 MB of RAM.") and memory("two gigabytes") and not memory("You can boot from USB.")
    year = figure("until what year is bullseye supported")
    assert year("Security support ends in 2026.") and year("released on August 14, 2021")
    assert not year("release 11 is the stable distribution")  # a number, but no year
    spent = figure("how much money did ibm spend paying the annotators")  # spending is a price too
    assert spent("$15 per hour") and not spent("The conversations were created by human annotators.")
    assert figure("how much were the annotators paid?")("$12 per hour") and \
        not figure("how much were the annotators paid?")("666 conversations")  # a price wants money
    care = figure("How much does the Kestrel Care extended warranty cost?")
    assert care("Kestrel Care costs 9 % of the item's price") and care("Returns are free of charge.")  # or a share
    assert figure("how long does a fix take to reach testing")("it could be months")
    assert not figure("how many installers are there")("Once the installer has booted, ...")  # "once" is no count
    assert figure("Debian 12 的安全支持到哪年结束")("支持到 2028 年") and not figure("安装最少要多大内存")("用 USB 安装")
    assert figure("一个葡萄糖分子里有几个氧原子")("有6个氧原子")
    often = figure("how often does unstable get updated, like daily?")  # a frequency, in words or figures
    assert often("Packages are uploaded to unstable daily.") and often("every 6 hours") and not often("It changes a lot.")
    date = figure("from what date could a testing user use xyz again")
    assert date("you could use XYZ only after July 13th.") and not date("after a few days")  # an ordinal day is a date


def test_questions_asking_for_no_figure():
    assert figure("how do I install a package?") is None and figure("what is apt-pinning") is None
    assert figure("方程式里几个反应物之间的加号怎么读") is None  # 几个 names the reactants; it asks how to read
    assert figure("when should I use testing?") is None  # "when" may be answered by a condition
    assert figure("want to host a debian mirror, where do i check how much disk it needs") is None  # asks where to look


def test_a_yes_no_question_looks_for_a_no_or_a_limit():
    limits = says_no("Can I post to the list before subscribing?")
    assert limits("Messages can be posted even without subscribing.") and limits("It is available in sid only.")
    assert not limits("You can subscribe using the WWW form.")
    assert says_no("how do I subscribe?") is None and says_no("which list is for users?") is None


@pytest.mark.slow
def test_the_sentence_holding_the_count_is_quoted(pdfs, embedder):
    pages = {d.page: d.text for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf")}
    sources = [ScoredChunk(Chunk(f"faq.pdf#p{p}:0", pages[p][:1200], "faq.pdf", p), 0.7, 0.7) for p in (21, 11)]
    question = "how many processor architectures is debian available for"
    two = ExtractiveGenerator.Params(max_sentences=2)  # the entry's opening and the closest sentence
    assert "9 architectures" in "".join(ExtractiveGenerator(two, embedder=embedder).stream(question, sources))
    untyped = ExtractiveGenerator(two.model_copy(update={"answer_type": 0}), embedder=embedder)
    assert "9 architectures" not in "".join(untyped.stream(question, sources))


@pytest.mark.slow
def test_a_yes_no_question_ranks_the_sentence_that_sets_the_limit_higher(pdfs, embedder):
    page = next(d.text for d in PdfLoader().load(str(pdfs / "debian-faq.en.pdf"), "faq.pdf") if d.page == 15)
    text = page[page.index("Another option would be to ask"):][:600]
    sources = [ScoredChunk(Chunk("faq.pdf#p15:0", text, "faq.pdf", 15), 0.7, 0.7)]
    question = "do I need to subscribe to debian-user to post there?"

    def scores(params: ExtractiveGenerator.Params) -> dict[str, float]:
        found, _ = ExtractiveGenerator(params, embedder=embedder).candidates(question, sources)
        return {c.text: c.score for c in found}

    # the sentence saying no ranks above where it would without the weight; the others stay where they were
    # (whether it then opens the answer depends on how close the rest are: here within a few thousandths)
    weighted, plain = scores(ExtractiveGenerator.Params()), scores(ExtractiveGenerator.Params(polarity=0))
    limit = next(t for t in weighted if "even without subscribing" in t)
    assert weighted[limit] == pytest.approx(plain[limit] + ExtractiveGenerator.Params().polarity)
    assert all(weighted[t] == pytest.approx(plain[t]) for t in weighted if not says_no(question)(t))
    assert sum(not says_no(question)(t) for t in weighted) >= 3
