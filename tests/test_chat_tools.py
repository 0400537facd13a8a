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
from .tool_fixtures import orders_server  # noqa: F401  (fixture)

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
    fake = start_fake_llm()
    try:
        def tool_calls(request):
            if request.get("tools"):
                names = [t["function"]["name"] for t in request["tools"]]
                assert "order_status" in names
                return [{"id": "call_1", "type": "function",
                         "function": {"name": "order_status", "arguments": json.dumps({"order_id": "12345"})}}]
            return None

        fake.behaviour.tool_calls = tool_calls
        fake.behaviour.reply = lambda request: "Your order 12345 is on its way."
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
        assert [(t.name, t.status) for t in tools] == [("order_status", "ok")]
        assert text == "Your order 12345 is on its way." and done.generator == "openai/fake-model"
        final = fake.requests[-1]["messages"]
        assert any(m["role"] == "system" and "Result of the order_status tool" in m["content"] for m in final)
        toolbox.close()
        kb.close()
    finally:
        fake.stop()
