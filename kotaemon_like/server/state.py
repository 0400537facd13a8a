"""Everything the app serves from, built once from the config and closed on shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .. import metrics, registry
from ..config import Settings
from ..ingest.manifest import Manifest
from ..logs import redact

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    kb: registry.KnowledgeBase
    engine: Any  # chat.ChatEngine
    manifest: Manifest
    queue: Any  # the ingest queue (for readiness; in embedded mode shared with the workers)
    ingest: Any = None  # IngestService when the server runs watcher + workers itself
    toolbox: Any = None
    conversations: Any = None  # conversations.ConversationStore
    desk: Any = None  # conversations.desk.ConversationDesk (hand-off rules, tickets) for the default tenant
    service: Any = None  # conversations.service.ConversationService: customer messages, agents' actions
    tenants: Any = None  # tenants.TenantDirectory: tenants and their keys
    runtimes: Any = None  # tenants.runtime.TenantRuntimes: each tenant's index, engine and service
    usage: Any = None  # conversations.usage.UsageLedger: messages and LLM tokens per tenant per month
    extra: dict = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> "AppState":
        kb = registry.build_knowledge_base(settings)
        registry.build_indexer(kb)  # refuses an index built by another embedder, with what to run
        ingest = None
        if settings.server.embedded_ingest:
            from ..ingest_service import IngestService

            ingest = IngestService(settings, watch=True, workers=settings.worker.threads, kb=kb)
            queue = ingest.queue
        else:
            queue = registry.build_queue(settings)
        toolbox = registry.build_toolbox(settings, kb.embedder)
        store, desk = registry.build_conversations(settings)
        engine = registry.build_chat(kb, toolbox=toolbox, desk=desk)
        from ..conversations.service import ConversationService
        from ..tenants import DEFAULT_TENANT, TenantDirectory
        from ..tenants.runtime import TenantRuntime, TenantRuntimes

        manifest, service = Manifest(settings.paths.index), ConversationService(desk, engine)
        default = TenantRuntime(DEFAULT_TENANT, settings, kb, engine, manifest, desk, service, toolbox, ingest, owned=False)
        runtimes = TenantRuntimes(settings, store, default, settings.tenants.loaded_max, settings.server.embedded_ingest)
        from ..conversations.usage import UsageLedger

        return cls(settings, kb, engine, manifest, queue, ingest, toolbox, store, desk, service,
                   TenantDirectory(store.session), runtimes, UsageLedger(store.session))

    def runtime(self, tenant):
        """The parts serving `tenant` (a tenants.Tenant), built on first use."""
        return self.runtimes.get(tenant)

    def start(self) -> None:
        if self.ingest is not None:
            self.ingest.start()

    def close(self) -> None:
        if self.runtimes is not None:
            self.runtimes.close()
        if self.ingest is not None:
            self.ingest.stop()  # finishes the current job and flushes the index
        else:
            self.queue.close()
        self.kb.close()
        if self.toolbox is not None:
            self.toolbox.close()
        self.manifest.close()
        if self.conversations is not None:
            self.conversations.close_store()

    def refresh_gauges(self) -> None:
        """Index and queue gauges, read when Prometheus scrapes."""
        statuses = [r.status for r in self.manifest.all().values()]
        for status in ("indexed", "failed"):
            metrics.DOCUMENTS_INDEXED.labels(status).set(statuses.count(status))
        metrics.CHUNKS_INDEXED.set(self.kb.keyword_index.count())
        try:
            metrics.INGEST_QUEUE_DEPTH.set(self.queue.depth())
            metrics.INGEST_QUEUE_PENDING.set(self.queue.pending())
        except Exception:  # readiness reports an unreachable queue; metrics keep their last value
            pass

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Each part's state; the app is ready when all are "ok"."""
        checks: dict[str, str] = {}
        for name, probe in (
            ("vector_store", lambda: self.kb.vector_store.count() >= 0),
            ("keyword_index", lambda: self.kb.keyword_index.count() >= 0),
            ("queue", lambda: self.queue.ping()),
            ("memory", lambda: getattr(self.engine.memory, "ping", lambda: True)()),
            ("conversations", lambda: self.conversations is None or self.conversations.ping()),
        ):
            try:
                checks[name] = "ok" if probe() else "unreachable"
            except Exception as exc:
                checks[name] = redact(f"error: {type(exc).__name__}: {exc}")[:200]
        if self.ingest is not None:
            checks["ingest"] = self.ingest.health()[1]
        return all(v == "ok" for v in checks.values()), checks
