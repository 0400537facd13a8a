"""Conversations: the event stream, memory (in-process and Redis), litellm against a fake OpenAI-compatible
server, the fallback chain, citation mapping, "I don't know", Chinese, and follow-up questions."""

from __future__ import annotations

import logging
import time

import pytest

from kotaemon_like import registry
from kotaemon_like.chat import NO_ANSWER, CitationEvent, DoneEvent, TokenEvent
from kotaemon_like.components import Message
from kotaemon_like.generators.citations import CitationFilter
from kotaemon_like.memory.redis_memory import RedisMemory
from kotaemon_like.memory.window import WindowMemory

from .conftest import write_config
from .fake_llm import start_fake_llm

PRICING = """# Plans and pricing

## Basic plan
The Basic plan is free for one user and includes 1 GB of storage.

## Pro plan
The Pro plan costs 49 euros per month and includes priority support and 100 GB of storage.

## Enterprise plan
The Enterprise plan is priced per seat; contact sales for a quote.
"""
RETURNS = "# Returns\n\nUnused items can be returned within 30 days of delivery for a full refund.\n"
ZH = "# 退货政策\n\n收到商品后三十天内可以申请退货退款，请保留发票和原包装。\n"


@pytest.fixture(scope="module")
def fake():
    server = start_fake_llm()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory, embedder):
    workdir = tmp_path_factory.mktemp("chat")
    (workdir / "data" / "knowledge").mkdir(parents=True)
    (workdir / "config").mkdir()
    for name, text in (("pricing.md", PRICING), ("returns.md", RETURNS), ("退货.md", ZH)):
        (workdir / "data" / "knowledge" / name).write_text(text, encoding="utf-8")
    settings = registry.load(write_config(workdir))
    kb = registry.build_knowledge_base(settings)
    registry.build_indexer(kb).sync()
    kb.close()
    return workdir


def engine_for(kb_dir, fake=None, extra: str = "", monkeypatch=None, first_token_timeout_s: float = 30):
    """An engine over the test knowledge base; with `fake`, its LLM first and the extractive answer as fallback
    (a generous first-token timeout unless a test is about that timeout: a busy machine is no hanging LLM)."""
    llm = ""
    if fake is not None:
        monkeypatch.setenv("FAKE_LLM_KEY", "sk-test")
        llm = f"""
        generator:
          type: fallback
          chain:
            - {{type: litellm, model: openai/fake-model, api_base: "{fake.url}", api_key_env: FAKE_LLM_KEY,
                first_token_timeout_s: {first_token_timeout_s}, max_retries: 0}}
            - {{type: extractive}}
        """
    config = write_config(kb_dir, llm + extra, name=f"chat-{time.monotonic_ns()}.yaml")
    kb = registry.build_knowledge_base(registry.load(config))
    return kb, registry.build_chat(kb)


def collect(events):
    events = list(events)
    text = "".join(e.text for e in events if isinstance(e, TokenEvent))
    return events, text, [e for e in events if isinstance(e, CitationEvent)], events[-1]


@pytest.fixture(autouse=True)
def reset_fake(fake):
    from .fake_llm import Behaviour

    fake.behaviour = Behaviour()
    fake.requests.clear()


pytestmark = pytest.mark.slow


def test_llm_answer_streams_tokens_then_citations_then_done(kb_dir, fake, monkeypatch):
    fake.behaviour.reply = lambda request: "The Pro plan costs 49 euros per month [1]. It is the best plan [7]."
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch)
    events, text, citations, done = collect(engine.turn("How much is the Pro plan?", session_id="s1"))
    kinds = [e.type for e in events]
    assert kinds.index("citation") > max(i for i, k in enumerate(kinds) if k == "token")
    assert kinds[-1] == "done" and kinds.count("token") > 3  # streamed in pieces
    assert text == "The Pro plan costs 49 euros per month [1]. It is the best plan ."  # [7] was never retrieved
    assert [c.number for c in citations] == [1] and citations[0].source == "pricing.md" and citations[0].page == 1
    assert "49 euros" in citations[0].snippet
    assert isinstance(done, DoneEvent) and done.answered and done.generator == "openai/fake-model"
    assert done.usage["prompt_tokens"] > 0 and done.usage["completion_tokens"] > 0
    assert set(done.latency_ms) == {"retrieval", "first_token", "total"}
    sent = fake.requests[-1]
    assert sent["stream"] is True and sent["model"] == "fake-model"
    user = sent["messages"][-1]["content"]
    assert "[1] (pricing.md, page 1)" in user and "How much is the Pro plan?" in user
    kb.close()


def test_primary_500_falls_back_to_the_next_generator(kb_dir, fake, monkeypatch, caplog):
    fake.behaviour.mode = "fail"
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch)
    with caplog.at_level(logging.WARNING):
        _, text, citations, done = collect(engine.turn("How much is the Pro plan?"))
    assert done.generator == "extractive" and done.failed_generators == ["openai/fake-model"]
    assert "49 euros" in text and citations[0].source == "pricing.md"
    assert any("failed before answering" in r.message and "falling back to extractive" in r.message for r in caplog.records)
    kb.close()


def test_primary_hanging_falls_back_within_the_timeout(kb_dir, fake, monkeypatch, caplog):
    hang_s = 60
    fake.behaviour.mode, fake.behaviour.hang_s = "hang", hang_s
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch, first_token_timeout_s=1.5)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        _, text, _, done = collect(engine.turn("How much is the Pro plan?"))
    elapsed = time.monotonic() - start
    assert done.generator == "extractive" and done.failed_generators == ["openai/fake-model"] and "49 euros" in text
    # the timeout cut the wait, not the LLM giving up: well before its hang ends, with the timeout as the reason
    assert elapsed < hang_s / 2, f"fallback took {elapsed:.1f}s: the 1.5s first-token timeout did not cut the hang"
    assert any("no first token within 1.5s" in r.message for r in caplog.records)
    kb.close()


def test_irrelevant_question_gets_i_dont_know_and_no_llm_call(kb_dir, fake, monkeypatch):
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch)
    _, text, citations, done = collect(engine.turn("Which football team won the league in 1998?"))
    assert text == NO_ANSWER["en"] and citations == [] and done.answered is False
    assert fake.requests == []
    _, text, _, done = collect(engine.turn("足球比赛谁赢了？"))
    assert text == NO_ANSWER["zh"] and not done.answered
    kb.close()


def test_chinese_question_gets_a_chinese_answer(kb_dir, fake, monkeypatch):
    kb, engine = engine_for(kb_dir)
    _, text, citations, done = collect(engine.turn("退货需要多少天？"))
    assert "三十天" in text and citations[0].source == "退货.md"
    kb.close()
    fake.behaviour.reply = lambda request: "收到商品后三十天内可以退货 [1]。"
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch)
    _, text, citations, done = collect(engine.turn("退货需要多少天？"))
    assert text.startswith("收到商品后三十天内") and citations[0].source == "退货.md"
    sent = fake.requests[-1]["messages"]
    assert "language of the customer's question" in sent[0]["content"] and "退货需要多少天" in sent[-1]["content"]
    kb.close()


def test_follow_up_question_uses_the_conversation_without_an_llm(kb_dir):
    kb, engine = engine_for(kb_dir)
    collect(engine.turn("Tell me about the Pro plan", session_id="f1"))
    _, text, citations, done = collect(engine.turn("What does it cost?", session_id="f1"))
    assert "Pro plan" in done.query
    assert "49 euros" in text and citations[0].source == "pricing.md"
    kb.close()


def test_follow_up_question_is_rewritten_by_the_llm(kb_dir, fake, monkeypatch):
    def reply(request):
        if "standalone search query" in request["messages"][0]["content"]:
            return "Pro plan monthly price"
        return "It costs 49 euros per month [1]."

    fake.behaviour.reply = reply
    kb, engine = engine_for(kb_dir, fake, monkeypatch=monkeypatch)
    collect(engine.turn("Tell me about the Pro plan", session_id="f2"))
    _, text, citations, done = collect(engine.turn("what does it cost?", session_id="f2"))
    assert done.query == "Pro plan monthly price"
    assert citations[0].source == "pricing.md" and "49 euros" in citations[0].snippet
    # the answer request carried the earlier turn as history
    roles = [m["role"] for m in fake.requests[-1]["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    kb.close()


def test_window_memory_trims_and_summarises():
    memory = WindowMemory(WindowMemory.Params(turns=2, summary=True))
    for i in range(3):
        dropped = memory.append("s", [Message("user", f"question {i}"), Message("assistant", f"answer {i}")])
    assert [m.content for m in dropped] == ["question 0", "answer 0"]
    assert [m.content for m in memory.load("s")] == ["question 1", "answer 1", "question 2", "answer 2"]
    memory.set_summary("s", "The customer asked: question 0")
    assert memory.load("s")[0].role == "system" and "question 0" in memory.load("s")[0].content
    assert memory.load("other") == []


def test_window_memory_forgets_after_ttl():
    memory = WindowMemory(WindowMemory.Params(ttl_s=0.2))
    memory.append("s", [Message("user", "hi")])
    time.sleep(0.3)
    assert memory.load("s") == []


def test_redis_memory_survives_a_restart_of_the_chat(kb_dir, fake, monkeypatch, redis_server):
    extra = f'memory: {{type: redis, url: "{redis_server.url}", turns: 3}}\n'
    fake.behaviour.reply = lambda request: "The Pro plan costs 49 euros per month [1]."
    kb, engine = engine_for(kb_dir, fake, extra=extra, monkeypatch=monkeypatch)
    collect(engine.turn("How much is the Pro plan?", session_id="persist"))
    kb.close()
    kb, engine = engine_for(kb_dir, fake, extra=extra, monkeypatch=monkeypatch)  # a new process would do the same
    collect(engine.turn("And the Basic plan?", session_id="persist"))
    history = fake.requests[-1]["messages"][1:-1]
    assert [m["content"] for m in history] == ["How much is the Pro plan?", "The Pro plan costs 49 euros per month [1]."]
    memory = RedisMemory(RedisMemory.Params(url=redis_server.url, turns=3))
    assert len(memory.load("persist")) == 4
    kb.close()


def test_citation_filter_handles_split_and_invalid_markers():
    f = CitationFilter(valid=2)
    out = "".join(f.feed(d) for d in ["Price ", "[", "1", "] and [", "3] or [2", ",5]", " done ["]) + f.flush()
    assert out == "Price [1] and  or [2] done ["
    assert f.cited == [1, 2]
