"""An app restart loses no conversation, pending tool question, queue place or ticket, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from kotaemon_like import registry
from kotaemon_like.server.app import create_app

from .conftest import ROOT, write_config
from .conversation_helpers import Customer
from .postgres_server import postgres_server  # noqa: F401  (fixture)
from .test_server import LiveServer
from .tool_fixtures import orders_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_app_restart_loses_nothing(database, request, workdir, orders_server):
    url = request.getfixturevalue("postgres_server").create_database() if database == "postgresql" else ""
    config = write_config(workdir, f"""
        conversations: {{url: "{url}"}}
        tools: {{folder: "{ROOT / 'plugins'}", reload: false, settings: {{order_status: {{base_url: "{orders_server.url}"}}}}}}
        """)
    settings = registry.load(config)
    with LiveServer(create_app(settings, ui=False)) as server:
        waiting = Customer(server.url)
        asked = Customer(server.url)
        body = asked.say("where is my order?")
        assert body["tools"][0]["status"] == "needs-input" and "order number" in body["answer"]
        offer = waiting.say("I want to talk to a human")  # nobody online: a ticket is offered
        assert "ticket" in offer["answer"]
        opened = waiting.say("please call me on +49 30 1234567")
        assert opened["tools"][0]["name"] == "create_ticket" and opened["tools"][0]["status"] == "ok"
        before = waiting.transcript()

    with LiveServer(create_app(registry.load(config), ui=False)) as server:
        asked.url = waiting.url = server.url
        answered = asked.say("it is 12345")  # the question asked before the restart is still pending
        assert [(t["name"], t["status"]) for t in answered["tools"]] == [("order_status", "ok")]
        assert "12345" in answered["answer"]
        after = waiting.transcript()
        assert after["messages"] == before["messages"] and after["tickets"] == before["tickets"]
        assert after["tickets"][0]["status"] == "open"
    store, _ = registry.build_conversations(settings)
    (ticket,) = store.tickets("default")
    assert ticket.contact == "+49 30 1234567" and ticket.conversation_id == waiting.id
    store.close_store()
