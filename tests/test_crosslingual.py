"""Chinese questions about English documents with the offline default (MiniLM + SQLite FTS5): the question's
English dictionary gloss (CC-CEDICT) finds and quotes the passage; unanswerable Chinese still gets no answer."""

from __future__ import annotations

import dataclasses

import pytest

from kotaemon_like import registry
from kotaemon_like.chat import CitationEvent, DoneEvent, TokenEvent
from kotaemon_like.retrievers.translate import QueryTranslator

from .conftest import copy_pdf, write_config


@pytest.fixture(scope="module")
def translator() -> QueryTranslator:
    return QueryTranslator()


def test_segmentation_prefers_whole_words(translator):
    segment = translator.glossary.segment
    assert segment("用光盘安装") == ["用", "光盘", "安装"]  # not 用光 ("used up") + 盘
    assert segment("获得了") == ["获得", "了"]  # not 获 + 得了
    assert segment("单用户模式") == ["单", "用户", "模式"]


def test_chinese_question_becomes_an_english_gloss(translator):
    question = "怎么锁定一个软件包不让它升级？"
    assert translator.content_words(question) == ["锁定", "软件包", "升级"]  # 怎么, 一个, 不, 让, 它 dropped
    gloss = translator.gloss(question)
    assert "software package" in gloss and "upgrade" in gloss  # the computing sense of 升级 comes first
    assert "how" not in gloss.split()
    assert "Debian" in translator.gloss("Debian 项目是谁创建的？")  # Latin-script names are kept
    assert translator.gloss("How do I hold a package?") is None


def test_found_counts_whole_words_not_characters(translator):
    question = "怎么锁定一个软件包不让它升级？"
    assert translator.found(question, ["软件包升级时可以锁定版本。"]) == 1.0
    # shares the characters 软, 件, 升 but none of the words
    assert translator.found(question, ["软件开发的升学考试"]) == 0.0
    assert translator.found(question, ["How do I put a package on hold?"]) == 0.0


@pytest.fixture(scope="module")
def faq_base(tmp_path_factory):
    """The Debian FAQ (English) and a Chinese PDF indexed with the default config."""
    workdir = tmp_path_factory.mktemp("crosslingual")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    copy_pdf("debian-faq.en.pdf", workdir / "data" / "knowledge")
    copy_pdf("mineru_intro_zh.pdf", workdir / "data" / "knowledge")
    kb = registry.build_knowledge_base(registry.load(write_config(workdir)))
    registry.build_indexer(kb).sync()
    yield kb
    kb.close()


def with_retriever(kb, **params):
    retriever = kb.settings.retriever.model_copy(update={"params": {**kb.settings.retriever.params, **params}})
    return dataclasses.replace(kb, settings=kb.settings.model_copy(update={"retriever": retriever}))


def ask(engine, question: str) -> tuple[str, list[int], bool]:
    text, pages, answered = "", [], False
    for event in engine.turn(question):
        if isinstance(event, TokenEvent):
            text += event.text
        elif isinstance(event, CitationEvent):
            pages.append(event.page)
        elif isinstance(event, DoneEvent):
            answered = event.answered
    return text, pages, answered


@pytest.mark.slow
@pytest.mark.shared_data
def test_chinese_question_finds_and_quotes_the_english_page(faq_base):
    engine = registry.build_chat(faq_base)
    question = "怎么锁定一个软件包不让它升级？"  # the FAQ answers it on page 40: "How do I put a package on hold?"
    assert 40 in [h.chunk.page for h in engine.retriever.retrieve(question)]
    text, pages, answered = ask(engine, question)
    assert answered and 40 in pages
    assert "hold" in text.lower()  # an English sentence of that page, quoted

    without = registry.build_chat(with_retriever(faq_base, translate=False))
    assert 40 not in [h.chunk.page for h in without.retriever.retrieve(question)]
    assert 40 not in ask(without, question)[1]


@pytest.mark.slow
@pytest.mark.shared_data
def test_unanswerable_chinese_still_gets_no_answer(faq_base):
    engine = registry.build_chat(faq_base)
    for question in ("你们的退款政策是什么？", "明天北京天气怎么样", "客服几点上班"):
        text, pages, answered = ask(engine, question)
        assert not answered and pages == [], (question, text)


@pytest.mark.slow
@pytest.mark.shared_data
def test_english_and_chinese_over_chinese_are_untouched(faq_base):
    on = registry.build_chat(faq_base).retriever
    off = registry.build_chat(with_retriever(faq_base, translate=False)).retriever
    for question in ("How do I put a package on hold?", "什么是实验式？"):
        assert [h.chunk.id for h in on.retrieve(question)] == [h.chunk.id for h in off.retrieve(question)]
