"""Monthly quotas and usage: counted per tenant per month in the conversation database (one migration head),
429 with Retry-After once used up, readable through /api/admin/usage and `kl usage`."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from fastapi import HTTPException

from kotaemon_like import registry
from kotaemon_like.config import Quotas
from kotaemon_like.conversations import migrate
from kotaemon_like.conversations.sql_store import SqlConversationStore
from kotaemon_like.conversations.usage import UsageLedger, next_month_start, this_month
from kotaemon_like.server.app import create_app
from kotaemon_like.server.quotas import check

from .conftest import ROOT, write_config
from .test_server import LiveServer


def test_the_migrations_have_one_head():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(migrate.alembic_config()).get_heads() == ["0003"]


def test_usage_is_counted_per_tenant_and_month_and_quotas_refuse_past_them(tmp_path):
    store = SqlConversationStore(f"sqlite:///{tmp_path / 'kl.sqlite'}")
    ledger = UsageLedger(store.session)
    for _ in range(3):
        ledger.add("acme", messages=1, prompt_tokens=100, completion_tokens=20)
    ledger.add("acme", messages=1, month="2020-01")
    ledger.add("globex", messages=1)
    assert [(u.tenant, u.messages, u.tokens) for u in ledger.report()] == [("acme", 3, 360), ("globex", 1, 0)]
    assert ledger.get("acme", "2020-01").messages == 1 and ledger.get("nobody").messages == 0
    quotas = Quotas(messages_per_month=10, tenants={"acme": Quotas(tokens_per_month=300)})
    with pytest.raises(HTTPException) as refused:
        check(ledger, quotas, "acme")  # 360 tokens of its own 300
    assert refused.value.status_code == 429 and "300 LLM tokens" in refused.value.detail
    assert 0 < int(refused.value.headers["Retry-After"]) <= 31 * 86400
    check(ledger, quotas, "globex")  # 1 of the deployment's 10 messages
    store.close_store()
    assert next_month_start().strftime("%Y-%m") > this_month()


@pytest.mark.slow
def test_a_tenant_over_its_monthly_messages_gets_429_and_admins_read_the_usage(tmp_path):
    (tmp_path / "data" / "knowledge").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "data" / "knowledge" / "faq.md").write_text("# Returns\n\nItems can be returned within 30 days.\n")
    config = write_config(tmp_path, "server: {quotas: {messages_per_month: 2}}\ntools: {enabled: []}\n")
    with LiveServer(create_app(registry.load(config), ui=False)) as live:
        for question in ("Can I return an item?", "How long do I have to return it?"):
            assert httpx.post(f"{live.url}/api/chat", json={"message": question, "stream": False}, timeout=60).status_code == 200
        refused = httpx.post(f"{live.url}/api/chat", json={"message": "Can I return an item?", "stream": False})
        assert refused.status_code == 429 and "2 messages" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        openai = httpx.post(f"{live.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "Returns?"}]})
        assert openai.status_code == 429 and openai.json()["error"]["type"] == "rate_limit_error"
        usage = httpx.get(f"{live.url}/api/admin/usage").json()
        assert usage["usage"] == [{"tenant": "default", "month": this_month(), "messages": 2, "prompt_tokens": 0,
                                   "completion_tokens": 0, "tokens": 0, "quota": {"messages": 2, "tokens": None}}]
        assert httpx.get(f"{live.url}/api/admin/usage", params={"month": "2026-13"}).status_code == 422
    shown = subprocess.run([sys.executable, "-m", "kotaemon_like.cli", "--config", str(config), "usage"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split("\n")[1].split() == ["default", this_month(), "2", "2", "0", "unlimited"]
