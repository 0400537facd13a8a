"""A tenant's own parts: knowledge folder, index, chat engine (memory, plugins) and conversation service.

The default tenant runs on the config as written (`paths.knowledge`, `paths.index`); any other tenant on
`paths.tenants/<id>/knowledge` and `paths.tenants/<id>/index`, a Qdrant collection shared with a `tenant`
payload filter, Redis memory, breaker keys and ingest stream names carrying the tenant, a PostgreSQL (or Qdrant)
keyword collection of its own, and its own enabled plugins.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import registry
from ..config import ConfigError, PartSpec, Paths, Settings
from ..ingest.manifest import Manifest
from .records import DEFAULT_TENANT, Tenant

log = logging.getLogger(__name__)


def _with(spec: PartSpec, **params: Any) -> PartSpec:
    return PartSpec(type=spec.type, params={**spec.params, **params})


def tenants_root(settings: Settings) -> Path:
    """`paths.tenants`, else `tenants/` next to the index folder (data/tenants)."""
    root = settings.paths.tenants or Path(settings.paths.index).parent / "tenants"
    knowledge = Path(settings.paths.knowledge).resolve()
    if root.resolve() == knowledge or knowledge in root.resolve().parents:
        raise ConfigError(f"{settings.source_file}: paths.tenants: {root} is inside the knowledge folder, whose watcher "
                          "would index every tenant's files as the default tenant's; choose a folder outside it")
    return root


def tenant_settings(settings: Settings, tenant: Tenant | str) -> Settings:
    """The config as one tenant runs it: its folders, store namespaces and plugins."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    update: dict[str, Any] = {}
    if tenant_id != DEFAULT_TENANT:
        root = tenants_root(settings) / tenant_id
        update["paths"] = Paths(knowledge=root / "knowledge", index=root / "index", tenants=settings.paths.tenants)
        # one conversation database for all tenants (its default is found next to the index folder)
        update["conversations"] = settings.conversations.model_copy(update={"url": registry.conversations_url(settings)})
        if settings.vector_store.type == "qdrant":
            update["vector_store"] = _with(settings.vector_store, tenant=tenant_id)
        if settings.memory.type == "redis":
            prefix = settings.memory.params.get("prefix", "kl:memory")
            update["memory"] = _with(settings.memory, prefix=f"{prefix}:{tenant_id}")
        if settings.queue.type == "redis":
            params = settings.queue.params
            update["queue"] = _with(settings.queue, stream=f"{params.get('stream', 'kl:ingest')}:{tenant_id}",
                                    dead_letter_stream=f"{params.get('dead_letter_stream', 'kl:ingest:dead')}:{tenant_id}")
        if settings.keyword_index.type == "postgres":  # one table, a collection per tenant
            collection = settings.keyword_index.params.get("collection", "default")
            update["keyword_index"] = _with(settings.keyword_index, collection=f"{collection}:{tenant_id}")
        if settings.keyword_index.type == "qdrant":  # a collection per tenant (its own IDF)
            update["keyword_index"] = _with(settings.keyword_index, tenant=tenant_id)
        if settings.tools.breaker.url:  # a tenant's plugins may call its own services: breakers of its own
            breaker = settings.tools.breaker
            update["tools"] = settings.tools.model_copy(
                update={"breaker": breaker.model_copy(update={"prefix": f"{breaker.prefix}:{tenant_id}"})})
    if not isinstance(tenant, str) and (tenant.plugins is not None or tenant.plugin_settings):
        tools = update.get("tools", settings.tools)
        enabled = tools.enabled
        if tenant.plugins is not None:  # a tenant narrows what the deployment enables, never widens it
            enabled = [p for p in tenant.plugins if tools.enabled is None or p in tools.enabled]
        merged = {name: {**tools.settings.get(name, {}), **values} for name, values in tenant.plugin_settings.items()}
        update["tools"] = tools.model_copy(update={"enabled": enabled, "settings": {**tools.settings, **merged}})
    return settings.model_copy(update=update) if update else settings


@dataclass
class TenantRuntime:
    """What serves one tenant; `owned` parts are closed with it (the default tenant's belong to the app)."""

    tenant_id: str
    settings: Settings
    kb: registry.KnowledgeBase
    engine: Any  # chat.ChatEngine
    manifest: Manifest
    desk: Any  # conversations.desk.ConversationDesk
    service: Any  # conversations.service.ConversationService
    toolbox: Any = None
    ingest: Any = None  # this tenant's watcher + workers when the server indexes in-process
    owned: bool = True

    def close(self) -> None:
        if not self.owned:
            return
        if self.ingest is not None:
            self.ingest.stop()
        self.kb.close()
        if self.toolbox is not None:
            self.toolbox.close()
        self.manifest.close()


def build_runtime(settings: Settings, tenant: Tenant, store, embedder=None, ingest: bool = False) -> TenantRuntime:
    """A tenant's parts built from the config (sharing the app's embedder: one model in memory)."""
    from ..conversations.desk import ConversationDesk
    from ..conversations.service import ConversationService

    own = tenant_settings(settings, tenant)
    own.paths.knowledge.mkdir(parents=True, exist_ok=True)
    kb = registry.build_knowledge_base(own, embedder=embedder)
    registry.build_indexer(kb)  # refuses an index built by another embedder, with what to run
    try:
        toolbox = registry.build_toolbox(own, kb.embedder)
        desk = ConversationDesk(store, own.conversations, tenant.id)
        engine = registry.build_chat(kb, toolbox=toolbox, desk=desk)
        runtime = TenantRuntime(tenant.id, own, kb, engine, Manifest(own.paths.index), desk,
                                ConversationService(desk, engine), toolbox)
        if ingest:
            from ..ingest_service import IngestService

            runtime.ingest = IngestService(own, watch=True, workers=own.worker.threads, kb=kb)
            runtime.ingest.start()
        return runtime
    except BaseException:
        kb.close()
        raise


class TenantRuntimes:
    """Each tenant's runtime, built on first use and kept for the `limit` most recently used tenants.

    The default tenant's runtime is the app's own and is never evicted.
    """

    def __init__(self, settings: Settings, store, default: TenantRuntime, limit: int = 8, ingest: bool = False,
                 retire_after_s: float | None = None):
        self.settings, self.store, self.default = settings, store, default
        self.limit, self.ingest = limit, ingest
        # an unloaded runtime may still be answering: it is closed once answers in flight had time to finish
        self.retire_after_s = settings.server.grace_s if retire_after_s is None else retire_after_s
        self._loaded: OrderedDict[str, TenantRuntime] = OrderedDict()
        self._retiring: dict[int, tuple[TenantRuntime, threading.Timer]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: Tenant) -> TenantRuntime:
        if tenant.id == DEFAULT_TENANT:
            return self.default
        with self._lock:  # building twice at once would open the same index folder twice
            runtime = self._loaded.get(tenant.id)
            if runtime is not None:
                self._loaded.move_to_end(tenant.id)
                return runtime
            runtime = build_runtime(self.settings, tenant, self.store, self.default.kb.embedder, self.ingest)
            self._loaded[tenant.id] = runtime
            log.info("tenant runtime loaded", extra={"tenant": tenant.id, "loaded": len(self._loaded)})
            while len(self._loaded) > self.limit:
                _, evicted = self._loaded.popitem(last=False)
                self._retire(evicted)
                log.info("tenant runtime unloaded", extra={"tenant": evicted.tenant_id})
            return runtime

    def _retire(self, runtime: TenantRuntime) -> None:
        """Close `runtime` after `retire_after_s` (at once when 0); the caller holds the lock."""
        if not self.retire_after_s:
            runtime.close()
            return
        timer = threading.Timer(self.retire_after_s, self._close_retired, args=(id(runtime),))
        timer.daemon = True
        self._retiring[id(runtime)] = (runtime, timer)
        timer.start()

    def _close_retired(self, key: int) -> None:
        with self._lock:
            entry = self._retiring.pop(key, None)
        if entry is not None:
            entry[0].close()

    def drop(self, tenant_id: str) -> None:
        """Close a tenant's runtime (after it was disabled or its plugins changed); the next use rebuilds it."""
        with self._lock:
            runtime = self._loaded.pop(tenant_id, None)
            if runtime is not None:
                self._retire(runtime)

    def loaded(self) -> list[TenantRuntime]:
        with self._lock:
            return [self.default, *self._loaded.values()]

    def close(self) -> None:
        """Close every runtime now (the server is stopping; its answers in flight have finished)."""
        with self._lock:
            loaded, self._loaded = list(self._loaded.values()), OrderedDict()
            retiring, self._retiring = list(self._retiring.values()), {}
        for runtime, timer in retiring:
            timer.cancel()
            loaded.append(runtime)
        for runtime in loaded:
            runtime.close()
