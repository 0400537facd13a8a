"""Each tenant's runtime on real stores: its own memory keys in Redis, its own plugins and plugin settings,
its own knowledge folder watched and indexed into its own index, and a bound on how many stay loaded."""

from __future__ import annotations

import pytest

from kotaemon_like import registry
from kotaemon_like.components import Message
from kotaemon_like.conversations.sql_store import SqlConversationStore
from kotaemon_like.tenants import Tenant
from kotaemon_like.tenants.runtime import TenantRuntime, TenantRuntimes, build_runtime, tenant_settings

from .conftest import wait_until, write_config


def test_memory_keys_carry_the_tenant_in_redis(workdir, redis_server):
    settings = registry.load(write_config(workdir, f"memory: {{type: redis, url: '{redis_server.url}'}}"))
    memories = {t: registry.build_memory(tenant_settings(settings, t)) for t in ("default", "acme", "beta")}
    memories["acme"].append("same-session", [Message("user", "my card ends 4242"), Message("assistant", "noted")])
    assert [m.content for m in memories["acme"].load("same-session")] == ["my card ends 4242", "noted"]
    assert memories["beta"].load("same-session") == [] and memories["default"].load("same-session") == []
    import redis

    keys = sorted(k.decode() for k in redis.Redis.from_url(redis_server.url).keys("*same-session*"))
    assert keys and all(k.startswith("kl:memory:acme:") for k in keys)


def test_tenant_settings_move_folders_and_namespaces_but_not_the_database(workdir):
    settings = registry.load(write_config(workdir, """
        vector_store: {type: qdrant, url: "http://127.0.0.1:6333"}
        queue: {type: redis, url: "redis://127.0.0.1:6379/0"}
        tools: {enabled: [order_status, create_ticket], settings: {order_status: {base_url: "http://orders"}}}
        """))
    acme = Tenant("acme", "Acme", plugins=("order_status", "handoff_to_human"),
                  plugin_settings={"order_status": {"base_url": "http://acme-orders"}})
    own = tenant_settings(settings, acme)
    assert own.paths.knowledge == workdir / "data" / "tenants" / "acme" / "knowledge"
    assert own.paths.index == workdir / "data" / "tenants" / "acme" / "index"
    assert own.vector_store.params["tenant"] == "acme" and own.queue.params["stream"] == "kl:ingest:acme"
    assert registry.conversations_url(own) == registry.conversations_url(settings)
    # a tenant narrows the plugins the deployment enables, never widens them
    assert own.tools.enabled == ["order_status"] and own.tools.settings["order_status"]["base_url"] == "http://acme-orders"
    assert tenant_settings(settings, "default") is settings


@pytest.mark.slow
def test_a_tenant_folder_is_watched_into_its_own_index_and_runtimes_are_bounded(workdir):
    settings = registry.load(write_config(workdir, """
        tools: {reload: false, settings: {order_status: {base_url: "http://127.0.0.1:9"}}}
        watcher: {quiet_s: 0.2}
        """))
    store = SqlConversationStore(registry.conversations_url(settings))
    kb = registry.build_knowledge_base(settings)
    default = build_runtime(settings, Tenant("default", "Default"), store, kb.embedder)
    runtimes = TenantRuntimes(settings, store, default, limit=1, ingest=True, retire_after_s=60)
    try:
        acme = runtimes.get(Tenant("acme", "Acme", plugins=()))
        assert sorted(default.toolbox.plugins()) == ["create_ticket", "handoff_to_human", "order_status"]
        assert acme.toolbox.plugins() == {}  # no plugins enabled for this tenant
        (acme.settings.paths.knowledge / "hours.md").write_text("# Hours\n\nAcme opens at 8 and closes at 18.\n")
        wait_until(lambda: acme.kb.keyword_index.count() > 0, 60, what="the tenant's file to be indexed")
        hits = acme.kb.keyword_index.search("opens", 5)
        assert [h.chunk.source for h in hits] == ["hours.md"]
        assert default.kb.keyword_index.count() == 0 and "hours.md" not in default.manifest.all()
        assert runtimes.get(Tenant("acme", "Acme", plugins=())) is acme  # cached
        beta = runtimes.get(Tenant("beta", "Beta"))
        assert [r.tenant_id for r in runtimes.loaded()] == ["default", "beta"]  # acme unloaded (limit 1)
        assert beta.kb.keyword_index.count() == 0
        # an unloaded runtime keeps answering what it was asked until its retirement closes it
        assert acme.kb.keyword_index.search("opens", 5) and acme.ingest.health() == (True, "ok")
        runtimes.close()  # closes the retiring ones too
        assert acme.ingest.health() == (False, "stopping")
    finally:
        runtimes.close()
        default.close()
        kb.close()
        store.close_store()
