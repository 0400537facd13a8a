"""Tool plugins inside a conversation: the embedded router, asking for a missing order number, a failing
orders service behind its breaker, and LLM function calling against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from kotaemon_like import registry
from kotaemon_like.chat import DoneEvent, TokenEvent, ToolEvent

from .conftest import ROOT, write_config
from .fake_llm import start_fake_llm
from .tool_fixtures import desk, orders_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def engine_with_tools(workdir, orders_url: str, extra: str = ""):
    config = write_config(workdir, f"""
        tools:
          folder: "{ROOT / 'plugins'}"
          timeout_s: 1.5
          reload: false
          breaker: {{failure_threshold: 3, cooldown_s: 60}}
          settings:
            order_status: {{base_url: "{orders_url}"}}
        {extra}
        """, name=f"tools-{time.monotonic_ns()}.yaml")
    kb = registry.build_knowledge_base(registry.load(config))
    toolbox = registry.build_toolbox(kb.settings, kb.embedder)
    return kb, toolbox, registry.build_chat(kb, toolbox=toolbox)


def turn(engine, message, session="s"):
    events = list(engine.turn(message, session_id=session))
    return ([e for e in events if isinstance(e, ToolEvent)], "".join(e.text for e in events if isinstance(e, TokenEvent)),
            events[-1])


def test_order_lookup_without_an_llm_and_asking_for_the_number(workdir, orders_server):
    kb, toolbox, engine = engine_with_tools(workdir, orders_server.url)
    tools, text, done = turn(engine, "where is my order 12345?")
    assert [(t.name, t.status, t.arguments) for t in tools] == [("order_status", "ok", {"order_id": "12345"})]
    assert "12345" in text and isinstance(done, DoneEvent) and done.generator == "tools"

    tools, text, _ = turn(engine, "where is my order?", session="ask")
    assert tools[0].status == "needs-input" and "order" in text.lower()
    tools, text, _ = turn(engine, "it is 12345", session="ask")
    assert tools[0].name == "order_status" and tools[0].status == "ok" and "12345" in text
    toolbox.close()
    kb.close()


def test_failing_orders_service_opens_the_breaker_and_answers_stay_fast(workdir, orders_server):
    kb, toolbox, engine = engine_with_tools(workdir, orders_server.url)
    httpx.post(f"{orders_server.url}/admin/faults", json={"failure_rate": 1.0})
    httpx.delete(f"{orders_server.url}/admin/requests")
    statuses = []
    for i in range(4):
        start = time.monotonic()
        tools, text, done = turn(engine, "where is my order 12345?", session=f"b{i}")
        assert time.monotonic() - start < 5 and done.answered
        statuses.append(tools[0].status)
        assert "unavailable" in text.lower() or "not available" in text.lower() or "try again" in text.lower()
    assert statuses == ["failed", "failed", "failed", "skipped-open"]
    log = httpx.get(f"{orders_server.url}/admin/requests").json()
    lookups = [r for r in log["requests"] if "12345" in r.get("path", "")]
    assert len(lookups) == 3  # the fourth call was never made
    assert toolbox.status()["order_status"].state == "open"
    toolbox.close()
    kb.close()


def test_llm_function_calling_then_the_llm_answers_with_the_result(workdir, orders_server, monkeypatch):
    """The fake LLM receives the tool schemas, calls order_status, receives its result and answers with it.

    Fails when the embedded router handles the turn instead (e.g. litellm cannot send `tools=`)."""
    fake = start_fake_llm()
    try:
        def tool_calls(request):
            if request.get("tools"):
                return [{"id": "call_1", "type": "function",
                         "function": {"name": "order_status", "arguments": json.dumps({"order_id": "12345"})}}]
            return None

        def reply(request):
            results = [m for m in request["messages"] if m["role"] == "tool" and m.get("tool_call_id") == "call_1"]
            return f"The order system says: {results[0]['content']}" if results else "I did not see a tool result."

        fake.behaviour.tool_calls, fake.behaviour.reply = tool_calls, reply
        monkeypatch.setenv("FAKE_LLM_KEY", "sk-test")
        extra = f"""
        generator:
          type: fallback
          chain:
            - {{type: litellm, model: openai/fake-model, api_base: "{fake.url}", api_key_env: FAKE_LLM_KEY, max_retries: 0}}
            - {{type: extractive}}
        chat: {{min_relevance: 0.0, min_similarity: 0.0}}
        """
        (workdir / "data" / "knowledge" / "shipping.md").write_text("Orders ship within two working days.\n")
        kb, toolbox, engine = engine_with_tools(workdir, orders_server.url, extra)
        registry.build_indexer(kb).sync()
        tools, text, done = turn(engine, "Can you check order 12345 for me?")

        asked = [r for r in fake.requests if r.get("tools")]
        assert len(asked) == 1, "the LLM was never offered the tools: the embedded router decided"
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in asked[0]["tools"]}
        assert set(schemas) == {"order_status", "create_ticket", "handoff_to_human"}
        assert schemas["order_status"]["required"] == ["order_id"]
        assert schemas["order_status"]["properties"]["order_id"]["pattern"] == r"^\d{5}$"

        answer = fake.requests[-1]["messages"]
        called = [m for m in answer if m["role"] == "assistant" and m.get("tool_calls")]
        assert called[0]["tool_calls"][0]["function"]["name"] == "order_status"
        (result,) = [m for m in answer if m["role"] == "tool"]
        assert result["tool_call_id"] == "call_1" and "12345" in result["content"] and "DHL" in result["content"]
        assert [(t.name, t.status) for t in tools] == [("order_status", "ok")]
        assert text == f"The order system says: {result['content']}" and done.generator == "openai/fake-model"
        toolbox.close()
        kb.close()
    finally:
        fake.stop()


def test_yes_after_the_handoff_offer_calls_the_handoff(workdir, orders_server, desk):
    from kotaemon_like.chat import NO_ANSWER

    kb, toolbox, _ = engine_with_tools(workdir, orders_server.url)
    engine = registry.build_chat(kb, toolbox=toolbox, desk=desk)
    tools, text, done = turn(engine, "What is your refund policy for gift cards?", session="offer")
    assert tools == [] and text == NO_ANSWER["en"] and not done.answered
    tools, text, done = turn(engine, "ok please", session="offer")
    assert [(t.name, t.status, t.arguments) for t in tools] == [
        ("handoff_to_human", "ok", {"reason": "What is your refund policy for gift cards?"})]
    assert "ticket" in text  # no conversation in the store for this session: the desk offers a ticket instead

    tools, text, _ = turn(engine, "足球比赛谁赢了？", session="zh")
    assert text == NO_ANSWER["zh"]
    tools, _, _ = turn(engine, "好的", session="zh")
    assert [t.name for t in tools] == ["handoff_to_human"]
    tools, text, _ = turn(engine, "yes", session="no-offer")  # nothing was offered: no hand-off
    assert tools == []
    toolbox.close()
    kb.close()
