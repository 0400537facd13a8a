"""The plugin contract, the loader, hot reload, the three bundled plugins and the demo orders API, all for real."""

from __future__ import annotations

import sys
import textwrap
import time
from dataclasses import asdict, fields

import httpx

from kotaemon_like.chat import ToolEvent
from kotaemon_like.config import ToolsSettings
from kotaemon_like.tools import RouteDecision, ToolContext, Toolbox, ToolResult

from .conftest import wait_until
from .tool_fixtures import desk, make_toolbox, orders_server, simple_plugin, write_plugin  # noqa: F401

HISTORY = [
    {"role": "user", "content": "My blender arrived with a cracked jar."},
    {"role": "assistant", "content": "I am sorry to hear that. Shall I open a ticket?"},
]


# -- the contract ------------------------------------------------------------------------------

def test_tool_result_has_exactly_the_fields_of_tool_event():
    assert [f.name for f in fields(ToolResult)] == [f.name for f in fields(ToolEvent) if f.name != "type"]
    result = ToolResult("order_status", {"order_id": "12345"}, "ok", 12.5, "On its way.")
    event = ToolEvent(**asdict(result))
    assert event.type == "tool" and event.status == "ok" and event.message == "On its way."


def test_json_schemas_come_from_type_hints_and_leave_the_context_out(make_toolbox):
    box = make_toolbox()
    assert box.load_errors() == []
    tools = {t["function"]["name"]: t for t in box.openai_tools()}
    assert sorted(tools) == ["create_ticket", "handoff_to_human", "order_status"]
    assert all(t["type"] == "function" and t["function"]["description"] for t in tools.values())
    order = tools["order_status"]["function"]["parameters"]
    assert order["type"] == "object" and order["required"] == ["order_id"]
    assert order["properties"]["order_id"]["type"] == "string" and order["properties"]["order_id"]["description"]
    ticket = tools["create_ticket"]["function"]["parameters"]
    assert set(ticket["properties"]) == {"title", "description", "contact", "priority"}  # no `context`
    assert ticket["properties"]["priority"]["enum"] == ["low", "normal", "high", "urgent"]
    assert set(ticket["required"]) == {"title", "description", "contact"}
    assert "title" not in ticket["properties"]["title"]  # pydantic's noise titles are gone, the parameter stays
    handoff = tools["handoff_to_human"]["function"]["parameters"]
    assert set(handoff["properties"]) == {"reason"} and "required" not in handoff


# -- the order plugin against the real demo API --------------------------------------------------

def test_healthy_order_lookup(make_toolbox, orders_server):
    box = make_toolbox()
    result = box.call("order_status", {"order_id": "12345"})
    assert result.status == "ok" and not result.stale and result.latency_ms > 0
    assert "12345" in result.message and "DHL" in result.message and "JD014600006251234567" in result.message
    assert "2026-11-24" in result.message
    delivered = box.call("order_status", {"order_id": 12346})  # an LLM may send a number
    assert delivered.status == "ok" and "delivered on 2026-11-05" in delivered.message
    missing = box.call("order_status", {"order_id": "99999"})
    assert missing.status == "ok" and "could not find an order" in missing.message
    assert box.status()["order_status"].consecutive_failures == 0
    assert orders_server.order_requests() == 3


def test_bad_or_missing_arguments_never_reach_the_plugin_or_the_breaker(make_toolbox, orders_server):
    box = make_toolbox(breaker={"failure_threshold": 1, "cooldown_s": 30})
    asked = box.call("order_status", {})
    assert asked.status == "needs-input" and "order number" in asked.message
    bad = box.call("order_status", {"order_id": "abc"})
    assert bad.status == "failed" and '"abc" is not a valid order id' in bad.message and "order number" in bad.message
    extra = box.call("order_status", {"order_id": "12345", "carrier": "DHL"})
    assert extra.status == "failed" and "unknown argument 'carrier'" in extra.message
    unknown = box.call("no_such_tool", {})
    assert unknown.status == "failed"
    assert orders_server.order_requests() == 0
    assert box.status()["order_status"].state == "closed"  # bad arguments are the caller's fault, not the service's


# -- tickets and hand-off ------------------------------------------------------------------------

def test_create_ticket_stores_the_ticket_with_the_conversation(make_toolbox, desk):
    box = make_toolbox()
    conversation, _ = desk.store.create_conversation("default", "web")
    context = ToolContext.from_messages(conversation.id, HISTORY, conversations=desk.bound(conversation.id))
    result = box.call(
        "create_ticket",
        {"title": "Cracked blender jar", "description": "The jar was cracked on arrival.", "contact": "ana@example.com", "priority": "high"},
        context,
    )
    (ticket,) = desk.store.tickets("default")
    assert result.status == "ok" and ticket.number in result.message
    assert ticket.priority == "high" and ticket.contact == "ana@example.com" and ticket.status == "open"
    assert ticket.conversation_id == conversation.id and ticket.history == HISTORY
    asked = box.call("create_ticket", {"title": "x", "description": "y"}, context)
    assert asked.status == "needs-input" and "email address or phone number" in asked.message
    unwired = box.call("create_ticket", {"title": "x", "description": "y", "contact": "ana@example.com"},
                       ToolContext.from_messages("s", HISTORY))
    assert unwired.status == "failed" and len(desk.store.tickets("default")) == 1
    # unbound (the OpenAI endpoint, the demo UI): a session id naming someone's conversation links nothing to it
    other = box.call("create_ticket", {"title": "x", "description": "y", "contact": "eve@example.com"},
                     ToolContext.from_messages(conversation.id, HISTORY, conversations=desk))
    assert other.status == "ok" and [t.conversation_id for t in desk.store.tickets("default")] == [None, conversation.id]


def test_handoff_queues_the_conversation_and_tells_the_place(make_toolbox, desk):
    box = make_toolbox()
    store = desk.store
    first, _ = store.create_conversation("default", "web")
    second, _ = store.create_conversation("default", "web")
    call = lambda conversation, reason="": box.call(  # noqa: E731
        "handoff_to_human", {"reason": reason} if reason else {},
        ToolContext.from_messages(conversation.id, HISTORY, desk.bound(conversation.id)))
    offered = call(first, "wants a refund")
    assert offered.status == "ok" and "ticket" in offered.message and "email address" in offered.message
    assert store.get_conversation("default", first.id).state == "bot"  # nobody online: a ticket is offered instead
    assert store.take_pending("default", first.id)["name"] == "create_ticket"
    agent = store.add_user("default", "alice", "correct horse battery staple")
    store.update_user("default", agent.id, status="online")
    assert "next in line" in call(first, "wants a refund").message
    assert "number 2 in the queue" in call(second).message
    assert "next in line" in call(first).message  # asking twice keeps the place
    waiting = store.queue("default")
    assert [(e.conversation.id, e.position) for e in waiting] == [(first.id, 1), (second.id, 2)]
    assert waiting[0].conversation.handoff_reason == "wants a refund"
    unbound = box.call("handoff_to_human", {}, ToolContext.from_messages(second.id, HISTORY, desk))
    assert "customer chat" in unbound.message  # a client-given session id never queues someone's conversation
    assert store.take("default", first.id, agent.id)
    assert "already with you" in call(first).message
    assert [(e.conversation.id, e.position) for e in store.queue("default")] == [(second.id, 1)]


# -- loading -----------------------------------------------------------------------------------

def test_broken_plugins_are_reported_and_skipped_while_the_others_load(make_toolbox, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "good.py", simple_plugin("good", "fine"))
    write_plugin(folder, "raises.py", '''
        from kotaemon_like.tools import ToolPlugin

        SETTING = {}["missing"]
    ''')
    write_plugin(folder, "syntax.py", '''
        from kotaemon_like.tools import ToolPlugin

        class Broken(ToolPlugin)
            name = "broken"
    ''')
    write_plugin(folder, "untyped.py", '''
        from kotaemon_like.tools import ToolPlugin

        class Untyped(ToolPlugin):
            name = "untyped"
            description = "Its parameter has no type hint."

            def run(self, what):
                return what
    ''')
    write_plugin(folder, "_helper.py", "raise SystemExit('helpers are not plugins')\n")
    box = make_toolbox(folder)
    assert list(box.plugins()) == ["good"]
    assert box.call("good", {"text": "!"}).message == "fine!"
    errors = {e.source.rsplit("/", 1)[-1]: e.message for e in box.load_errors()}
    assert set(errors) == {"raises.py", "syntax.py", "untyped.py"}
    assert "KeyError" in errors["raises.py"] and "(line 3)" in errors["raises.py"] and "skipped" in errors["raises.py"]
    assert "syntax error on line 3" in errors["syntax.py"]
    assert "parameter 'what' of run() needs a type hint" in errors["untyped.py"]
    assert not list(folder.glob("__pycache__"))  # nothing written into the user's folder


def test_enabled_list_and_plugin_settings_come_from_the_config(make_toolbox, tmp_path):
    box = make_toolbox(enabled=["order_status", "refund"], settings={"order_status": {"base_url": "http://127.0.0.1:9"}})
    assert list(box.plugins()) == ["order_status"]
    assert box.plugins()["order_status"].instance.settings.base_url == "http://127.0.0.1:9"
    (error,) = box.load_errors()
    assert "tools.enabled lists 'refund'" in error.message
    bad = make_toolbox(settings={"order_status": {"base_url": "http://x", "retries": 3}})
    assert "order_status" not in bad.plugins()
    assert any("tools.settings.order_status" in e.message and "retries" in e.message for e in bad.load_errors())


def test_installed_entry_point_plugins_load(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "acme_tools-1.0.dist-info").mkdir(parents=True)
    (site / "acme_tools-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tools\nVersion: 1.0\n")
    (site / "acme_tools-1.0.dist-info" / "entry_points.txt").write_text(
        "[kotaemon_like.tools]\nstock = acme_tools:StockCheck\nbroken = acme_tools:Nope\n"
    )
    (site / "acme_tools.py").write_text(textwrap.dedent('''
        from kotaemon_like.tools import ToolPlugin

        class StockCheck(ToolPlugin):
            name = "stock_check"
            description = "Is a product in stock?"

            def run(self, sku: str) -> str:
                return f"{sku} is in stock"
    '''))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "acme_tools", raising=False)
    box = Toolbox(ToolsSettings(folder=tmp_path / "empty"), watch=False)
    try:
        assert "stock_check" in box.plugins()
        assert box.plugins()["stock_check"].spec.source.startswith("entry point 'stock'")
        assert box.call("stock_check", {"sku": "SKU-1"}).message == "SKU-1 is in stock"
        assert any("entry point 'broken'" in e.message for e in box.load_errors())
    finally:
        box.close()


def test_hot_reload_picks_up_new_changed_broken_and_deleted_files(make_toolbox, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "first.py", simple_plugin("first", "one"))
    box = make_toolbox(folder, watch=True)
    assert list(box.plugins()) == ["first"]

    write_plugin(folder, "second.py", simple_plugin("second", "two"))
    wait_until(lambda: "second" in box.plugins(), 10, what="the new plugin file to load")
    assert box.call("second").message == "two"

    write_plugin(folder, "first.py", simple_plugin("first", "uno"))
    wait_until(lambda: box.call("first").message == "uno", 10, what="the changed plugin to reload")

    write_plugin(folder, "first.py", "class Half(\n")  # a half-saved file: the working version stays
    wait_until(lambda: box.load_errors(), 10, what="the broken file to be reported")
    assert box.call("first").message == "uno"
    assert "previous version keeps running" in box.load_errors()[0].message

    (folder / "second.py").unlink()
    wait_until(lambda: "second" not in box.plugins(), 10, what="the deleted plugin to go")
    assert box.call("second").status == "failed"


# -- routing without an embedder (keywords) and the follow-up answer --------------------------------

def test_keyword_routing_and_completing_a_pending_decision(make_toolbox):
    box = make_toolbox()
    decision = box.route("Where is my order?")
    assert decision == RouteDecision("order_status", {}, ("order_id",), decision.score)
    asked = box.call(decision.name, decision.arguments)
    assert asked.status == "needs-input" and "order number" in asked.message
    answered = box.route("it is 12345", pending=decision)
    assert answered.name == "order_status" and answered.arguments == {"order_id": "12345"} and answered.complete
    assert box.route("what are your opening hours") is None
    ticket = box.route("I want to file a complaint")
    assert ticket.name == "create_ticket" and ticket.missing == ("contact",)
    completed = box.route("you can reach me at ana@example.com", pending=ticket)
    assert completed.arguments["contact"] == "ana@example.com" and completed.complete
    assert completed.arguments["description"] == "I want to file a complaint"


# -- the demo orders API itself ------------------------------------------------------------------

def test_demo_orders_api_faults_and_request_log(orders_server):
    with httpx.Client(base_url=orders_server.url, timeout=5) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["orders"] >= 20
        order = client.get("/orders/12345").json()
        assert {"id", "status", "items", "carrier", "tracking", "eta"} <= set(order)
        assert client.get("/orders/00000").status_code == 404
        faults = client.post("/admin/faults", json={"failure_rate": 1.0, "latency_s": 0.2}).json()
        assert faults == {"failure_rate": 1.0, "latency_s": 0.2, "hang": False}
        start = time.perf_counter()
        assert client.get("/orders/12345").status_code == 500
        assert time.perf_counter() - start >= 0.2
        assert client.post("/admin/faults", json={"failure_rate": 2}).status_code == 422
        log = client.get("/admin/requests").json()
        assert log["count"] == 3 and [r["outcome"] for r in log["requests"]] == ["200", "404", "500"]
        client.delete("/admin/requests")
        assert client.get("/admin/requests").json()["count"] == 0


def test_demo_orders_faults_from_the_environment(monkeypatch):
    from kotaemon_like.demo_orders import create_app

    monkeypatch.setenv("ORDERS_FAILURE_RATE", "0.5")
    monkeypatch.setenv("ORDERS_HANG", "yes")
    app = create_app(latency_s=0.1)
    assert app.state.faults.model_dump() == {"failure_rate": 0.5, "latency_s": 0.1, "hang": True}
    assert create_app(failure_rate=0.0).state.faults.failure_rate == 0.0  # an argument beats the environment



def test_the_documented_example_plugin_loads(make_toolbox, tmp_path):
    import re

    from .conftest import ROOT

    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    assert len(example.strip().splitlines()) < 30
    folder = tmp_path / "plugins"
    write_plugin(folder, "stock_check.py", example)
    box = make_toolbox(folder, settings={"stock_check": {"base_url": "http://127.0.0.1:9"}}, timeout_s=1)
    assert box.load_errors() == [] and list(box.plugins()) == ["stock_check"]
    (tool,) = box.openai_tools()
    assert tool["function"]["parameters"]["required"] == ["sku"]
    decision = box.route("is SKU-12345 in stock?")
    assert decision.name == "stock_check" and decision.arguments == {"sku": "SKU-12345"}
    result = box.call(decision.name, decision.arguments)  # nothing listens on port 9: a clean failure
    assert result.status == "failed" and "stock check is unavailable right now" in result.message


def test_the_documented_trying_it_snippet_prints_what_the_docs_show(tmp_path):
    import os
    import re
    import subprocess

    from .conftest import ROOT

    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    plugin = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    trying = doc[doc.index("**Trying it.**"):]
    snippet, shown = re.search(r"```python\n(.*?)```.*?```text\n(.*?)```", trying, re.S).groups()
    write_plugin(tmp_path / "plugins", "stock_check.py", plugin)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
